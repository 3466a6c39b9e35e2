/**
 * sd_notify(3) without a native module: Node's dgram cannot send on the
 * AF_UNIX datagram socket systemd gives in NOTIFY_SOCKET, so each message is
 * sent by a `systemd-notify` child. That child is not the main PID, which is
 * why the unit says NotifyAccess=all.
 *
 * Messages are sent one at a time, in order: READY=1 must not overtake a
 * RELOADING=1 sent just before it.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../log/logger.js';

export interface SdNotifier {
  /** Every service is serving. */
  ready(status?: string): void;
  /** A reload started; call ready() when it is done. */
  reloading(): void;
  /** Free text shown by `systemctl status`. */
  status(text: string): void;
  stopping(): void;
  /** Resolves when every message queued so far has been handed to systemd (tests, shutdown). */
  flush(): Promise<void>;
}

export const NO_SD_NOTIFY: SdNotifier = {
  ready: () => undefined,
  reloading: () => undefined,
  status: () => undefined,
  stopping: () => undefined,
  flush: () => Promise.resolve(),
};

export interface SdNotifyOptions {
  env?: NodeJS.ProcessEnv;
  /** The program to run; `systemd-notify` from PATH by default. */
  command?: string;
  log: Logger;
}

/** A notifier that talks to systemd when NOTIFY_SOCKET is set (Type=notify), and does nothing otherwise. */
export function createSdNotifier(options: SdNotifyOptions): SdNotifier {
  const env = options.env ?? process.env;
  if (!env.NOTIFY_SOCKET) return NO_SD_NOTIFY;
  const command = options.command ?? 'systemd-notify';
  let queue: Promise<void> = Promise.resolve();
  let warned = false;

  const send = (args: string[]): void => {
    queue = queue.then(
      () =>
        new Promise<void>((resolve) => {
          const child = spawn(command, args, { stdio: 'ignore', env });
          child.once('error', (error) => {
            if (!warned) {
              warned = true;
              options.log.warn({ err: error, command }, 'cannot run systemd-notify; systemd will not see readiness (install systemd or use Type=simple)');
            }
            resolve();
          });
          child.once('exit', (code) => {
            if (code !== 0) options.log.debug({ command, args, code }, 'systemd-notify exited with an error');
            resolve();
          });
        }),
    );
  };

  return {
    ready: (status) => send(status === undefined ? ['--ready'] : ['--ready', `--status=${status}`]),
    // Positional assignments rather than --reloading/--stopping: those flags
    // only exist from systemd 253, and Debian 12 ships 252. MONOTONIC_USEC is
    // what Type=notify-reload requires with RELOADING=1; process.hrtime is
    // CLOCK_MONOTONIC on Linux.
    reloading: () => send(['RELOADING=1', `MONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`, 'STATUS=reloading config']),
    status: (text) => send([`--status=${text}`]),
    stopping: () => send(['STOPPING=1', 'STATUS=stopping']),
    flush: () => queue,
  };
}

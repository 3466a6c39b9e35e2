/**
 * `netboot serve` as a process: load and validate the config before anything
 * binds, start the supervisor, and turn signals into stop and reload.
 *
 * SIGTERM/SIGINT: stop with a short drain, exit 0 within STOP_DEADLINE_MS.
 * SIGHUP: validate the file again; a bad one is refused (the running config
 * stays), a good one goes to every service.
 * An uncaught exception is a bug: it is logged, services get a brief stop
 * (leases flushed), and the process exits 70 rather than limp on in an
 * unknown state; systemd's Restart=on-failure brings it back.
 */
import { mkdirSync } from 'node:fs';
import { loadConfigFile, type LoadResult } from '../config/load.js';
import { formatIssue } from '../config/issues.js';
import type { Config } from '../config/types.js';
import { createDhcpService } from '../dhcp/service.js';
import { NetbootError } from '../errors.js';
import { createHttpService } from '../http/service.js';
import { createLogger, flushLogger, type Logger } from '../log/logger.js';
import { createTftpService } from '../tftp/service.js';
import { ExitCode } from '../cli/exit-codes.js';
import { createSdNotifier, type SdNotifier } from './sd-notify.js';
import { startIdleTrim } from '../runtime/idle-trim.js';
import { DEFAULT_DRAIN_MS, Supervisor, type BackoffPolicy, type ServiceFactories } from './supervisor.js';

/** Shutdown must be over by then (systemd's stop, the tests' 2 s); a service that hangs in stop is abandoned. */
export const STOP_DEADLINE_MS = 1900;

export const DEFAULT_FACTORIES: ServiceFactories = { dhcp: createDhcpService, tftp: createTftpService, http: createHttpService };

export interface ServeOptions {
  configPath: string;
  allowMissing?: boolean;
  /** Replace some services (tests). */
  factories?: Partial<ServiceFactories>;
  backoff?: Partial<BackoffPolicy>;
  drainMs?: number;
  /** Plain-text lines for the operator (config errors, the one-line bind error). */
  writeError?: (line: string) => void;
  /** Ends the process; process.exit by default. */
  exit?: (code: number) => void;
  /** Force pretty or JSON logs. */
  prettyLogs?: boolean;
  notifier?: SdNotifier;
}

export interface ServeHandle {
  supervisor: Supervisor;
  log: Logger;
  /** What SIGHUP does; resolves true when the new config was taken. */
  reload(): Promise<boolean>;
  /** What SIGTERM does; ends the process with `code`. */
  shutdown(reason: string, code?: number): Promise<void>;
}

/** Before the logger exists, problems go to stderr as plain lines (the same ones `check` prints). */
function printIssues(result: LoadResult, writeError: (line: string) => void): void {
  const issues = result.ok ? result.warnings : result.issues;
  for (const issue of issues) writeError(formatIssue(issue));
}

/**
 * Starts serving. Resolves with a handle once every enabled service is ready,
 * or with an exit code when it could not start (config errors: 1, a port or a
 * service: 3); the caller exits with that code.
 */
export async function serve(options: ServeOptions): Promise<ServeHandle | number> {
  const writeError = options.writeError ?? ((line: string) => process.stderr.write(`${line}\n`));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const allowMissing = options.allowMissing ?? false;
  const load = (): LoadResult => loadConfigFile(options.configPath, { allowMissing });

  const first = load();
  if (!first.ok) {
    printIssues(first, writeError);
    const errors = first.issues.filter((issue) => issue.severity === 'error').length;
    writeError(`netboot: ${options.configPath}: ${errors} error${errors === 1 ? '' : 's'}; nothing was started (NETBOOT_ERR_CONFIG_INVALID)`);
    return ExitCode.ConfigInvalid;
  }
  const config: Config = first.config;
  const log = createLogger({ level: config.logLevel, ...(options.prettyLogs === undefined ? {} : { pretty: options.prettyLogs }) });
  for (const warning of first.warnings) log.warn({ file: warning.file, line: warning.line, col: warning.col, path: warning.path }, formatIssue(warning));
  const notifier = options.notifier ?? createSdNotifier({ log });

  // Made now, so a state folder that cannot be written is a clear error at start, not at the first lease.
  try {
    mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    writeError(`netboot: cannot create the state folder ${config.stateDir}: ${(error as Error).message} (check state.dir / dhcp.leaseFile and the service user's permissions) (NETBOOT_ERR_STATE_WRITE)`);
    await flushLogger(log);
    return ExitCode.Runtime;
  }

  let supervisor: Supervisor;
  try {
    supervisor = new Supervisor({ config, log, factories: { ...DEFAULT_FACTORIES, ...options.factories }, notifier, ...(options.backoff ? { backoff: options.backoff } : {}) });
  } catch (error) {
    writeError(`netboot: cannot open the state folder ${config.stateDir}: ${(error as Error).message}`);
    await flushLogger(log);
    return ExitCode.Runtime;
  }

  let shuttingDown = false;
  const shutdown = async (reason: string, code: number = ExitCode.Ok): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ reason }, `stopping (${reason})`);
    const deadline = setTimeout(() => {
      log.warn('a service did not stop in time; exiting anyway');
      void flushLogger(log, 50).then(() => exit(code));
    }, STOP_DEADLINE_MS);
    await supervisor.stop(options.drainMs ?? DEFAULT_DRAIN_MS);
    clearTimeout(deadline);
    log.info('stopped');
    await flushLogger(log, 100);
    exit(code);
  };

  const reload = async (): Promise<boolean> => {
    if (shuttingDown) return false;
    log.info({ file: options.configPath }, 'reloading config');
    const next = load();
    if (!next.ok) {
      const lines = next.issues.map(formatIssue);
      // The log is serve's output (journald); each problem on its own line, as `check` prints them.
      for (const issue of next.issues) log.error({ code: 'NETBOOT_ERR_CONFIG_INVALID', file: issue.file, line: issue.line, col: issue.col, path: issue.path }, formatIssue(issue));
      log.error({ code: 'NETBOOT_ERR_CONFIG_INVALID', issues: lines.length }, `new config refused, keeping the running one (${lines.length} problem${lines.length === 1 ? '' : 's'} listed above)`);
      notifier.status(`new config refused (${lines.length} problems); running the previous one`);
      return false;
    }
    for (const warning of next.warnings) log.warn(formatIssue(warning));
    await supervisor.reload(next.config);
    log.info({ sha256: next.config.source.sha256 }, 'config reloaded');
    return true;
  };

  try {
    await supervisor.start();
  } catch (error) {
    const message = error instanceof NetbootError ? error.message : (error as Error).message;
    const code = error instanceof NetbootError ? error.code : 'NETBOOT_ERR_SERVICE_START';
    // A bind error is fully said by its message; a stack is for the unexpected.
    log.fatal(error instanceof NetbootError && error.code.startsWith('NETBOOT_ERR_BIND_') ? { code } : { code, err: error }, message);
    writeError(`netboot: ${message} (${code})`);
    await flushLogger(log);
    return ExitCode.Runtime;
  }
  log.info({ config: config.source.file, sha256: config.source.sha256 }, 'netboot ready');
  return { supervisor, log, reload, shutdown };
}

/** Wires signals and process-level failures to a started server. */
export function installProcessHandlers(handle: ServeHandle, exit: (code: number) => void = (code) => process.exit(code)): void {
  const { log } = handle;
  let reloads: Promise<unknown> = Promise.resolve();
  let stopSignals = 0;
  const stop = (signal: NodeJS.Signals) => {
    // A second Ctrl-C means "now": skip the drain.
    if (++stopSignals > 1) {
      log.warn({ signal }, 'second stop signal; exiting without waiting for the drain');
      void flushLogger(log, 50).then(() => exit(ExitCode.Forced));
      return;
    }
    void handle.shutdown(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Reloads queue up: a second SIGHUP during a reload reloads again after it, with the file as it is then.
  process.on('SIGHUP', () => {
    reloads = reloads.then(() => handle.reload()).catch((error: unknown) => log.error({ err: error }, 'reload failed'));
  });
  const die = (kind: string) => (error: unknown) => {
    log.fatal({ code: 'NETBOOT_ERR_INTERNAL', err: error }, `${kind}: ${(error as Error)?.stack ?? String(error)}`);
    process.stderr.write(`netboot: internal error (${kind}), exiting: ${(error as Error)?.message ?? String(error)} (NETBOOT_ERR_INTERNAL)\n`);
    const hardStop = setTimeout(() => exit(ExitCode.Internal), 1000);
    hardStop.unref();
    void handle.shutdown(kind, ExitCode.Internal);
  };
  // After a storm or a scan, give the heap back once things are quiet (src/runtime/idle-trim.ts says why).
  startIdleTrim((before, after) => log.debug({ rssBeforeMiB: Math.round(before / 1048576), rssAfterMiB: Math.round(after / 1048576) }, 'memory trimmed after a busy spell'));
  process.on('uncaughtException', die('uncaughtException'));
  process.on('unhandledRejection', die('unhandledRejection'));
}

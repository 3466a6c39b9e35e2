/**
 * `netboot reinstall HOST` and `netboot done HOST`: re-arm a boot-once host or
 * mark its install done. The running server owns the state, so it is asked
 * first (its in-memory copy would otherwise overwrite a direct edit); only
 * when no server answers is the state file changed directly.
 */
import { mkdirSync } from 'node:fs';
import type { Config } from '../../config/types.js';
import { createLogger } from '../../log/logger.js';
import { FileBootOnceStore } from '../../state/boot-once-store.js';
import { CONFIG_OPTION, loadForCommand, parseCommandArgs, requireConfigPath } from '../args.js';
import { ExitCode } from '../exit-codes.js';
import { COMMAND_USAGE } from '../help.js';
import type { CliIo } from '../io.js';

/** How long to wait for the local server before deciding it is not running. */
export const API_TIMEOUT_MS = 10_000;

type Action = 'reinstall' | 'done';

export const runReinstall = (args: string[], io: CliIo): Promise<number> => runBootOnce('reinstall', args, io);
export const runDone = (args: string[], io: CliIo): Promise<number> => runBootOnce('done', args, io);

/** Where this box's own server answers: the listen address, or loopback when it listens on every address. */
export function localApiBase(config: Config): string {
  const host = config.http.listenAddress === '0.0.0.0' ? '127.0.0.1' : config.http.listenAddress;
  return `http://${host}:${config.http.port}`;
}

async function runBootOnce(action: Action, args: string[], io: CliIo): Promise<number> {
  const { values, positionals, help } = parseCommandArgs(action, args, CONFIG_OPTION, { min: 1, max: 1, names: 'HOST' });
  if (help) {
    io.out(COMMAND_USAGE[action]!);
    return ExitCode.Ok;
  }
  const config = loadForCommand(requireConfigPath(action, values), io);
  if (typeof config === 'number') return config;
  const hostName = positionals[0]!;
  const host = config.hostsByName.get(hostName);
  if (host === undefined) {
    io.err(`netboot ${action}: no host "${hostName}" in ${config.source.file} (hosts: ${[...config.hostsByName.keys()].join(', ') || 'none'}) (NETBOOT_ERR_NOT_FOUND)`);
    return ExitCode.NotFound;
  }
  if (!host.once) {
    io.err(`netboot ${action}: host ${hostName} is not a boot-once host (set once: true on it in ${config.source.file}) (NETBOOT_ERR_NOT_FOUND)`);
    return ExitCode.NotFound;
  }
  const wanted = action === 'done' ? 'done: boots from disk until re-armed' : 're-armed: installs on its next network boot';

  let unreachable = 'http is disabled in the config';
  if (config.http.enabled) {
    const url = `${localApiBase(config)}/api/hosts/${encodeURIComponent(hostName)}/${action}`;
    const headers: Record<string, string> = {};
    if (config.http.apiToken !== null) headers.authorization = `Bearer ${config.http.apiToken}`;
    try {
      const response = await fetch(url, { method: 'POST', headers, signal: AbortSignal.timeout(API_TIMEOUT_MS) });
      const body = (await response.text()).trim().slice(0, 500);
      if (response.ok) {
        io.out(`${hostName}: ${wanted} (via the running server, ${url})`);
        return ExitCode.Ok;
      }
      const why = (response.status === 401 || response.status === 403) && config.http.apiToken === null
        ? 'the API is read-only without http.apiToken: set one in the config, reload the server, and retry'
        : response.status === 401 || response.status === 403
        ? 'the server refused the token: set the same http.apiToken the server runs with'
        : response.status === 404
          ? `the running server does not know host ${hostName} (is it running an older config? reload it with SIGHUP)`
          : `HTTP ${response.status}`;
      io.err(`netboot ${action}: ${url}: ${why}${body ? ` (${body})` : ''} (NETBOOT_ERR_API)`);
      return response.status === 404 ? ExitCode.NotFound : ExitCode.ApiOrState;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      // Only "nobody listens" means no server runs. A slow or odd answer may be a running server, whose
      // in-memory state would overwrite a direct edit of the file: better to say so and change nothing.
      if (cause !== 'ECONNREFUSED') {
        io.err(`netboot ${action}: ${url}: no answer (${cause}); the server may be running but busy, so the state file was not touched; retry (NETBOOT_ERR_API)`);
        return ExitCode.ApiOrState;
      }
      unreachable = `no server answered at ${localApiBase(config)} (${cause})`;
    }
  }

  const store = new FileBootOnceStore(config.stateDir, createLogger({ level: 'error', pretty: false, destination: process.stderr }));
  try {
    mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
    if (action === 'done') await store.markDone(hostName);
    else await store.rearm(hostName);
  } catch (error) {
    io.err(`netboot ${action}: cannot write ${store.path}: ${(error as Error).message} (NETBOOT_ERR_STATE_WRITE)`);
    return ExitCode.ApiOrState;
  }
  io.out(`${hostName}: ${wanted} (${unreachable}; changed ${store.path} directly, read by netboot when it starts)`);
  return ExitCode.Ok;
}

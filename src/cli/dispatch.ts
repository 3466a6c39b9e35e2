/**
 * Command dispatch for `netboot` (main.ts is the executable). One file per
 * command under commands/; this prints usage errors (exit 2) and turns a
 * stray exception into exit 70 with a message rather than a stack dump.
 */
import { readFileSync } from 'node:fs';
import { ExitCode } from './exit-codes.js';
import { COMMAND_USAGE, mainUsage } from './help.js';
import { PROCESS_IO, UsageError, type CliIo } from './io.js';

type CommandRun = (args: string[], io: CliIo) => Promise<number | null>;

/** Loaded on demand so `netboot check` never loads fastify or the DHCP engine. */
const COMMANDS: Record<string, () => Promise<CommandRun>> = {
  serve: async () => (await import('./commands/serve.js')).runServe,
  check: async () => (await import('./commands/check.js')).runCheck,
  explain: async () => (await import('./commands/explain.js')).runExplain,
  leases: async () => (await import('./commands/leases.js')).runLeases,
  reinstall: async () => (await import('./commands/boot-once.js')).runReinstall,
  done: async () => (await import('./commands/boot-once.js')).runDone,
  firewall: async () => (await import('./commands/firewall.js')).runFirewall,
  init: async () => (await import('./commands/init.js')).runInit,
};

export function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Runs a command line (without `node main.js`); resolves with the exit code, or null while `serve` keeps running. */
export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number | null> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command === 'help' && rest[0] !== undefined && rest[0] in COMMAND_USAGE) {
      io.out(COMMAND_USAGE[rest[0]]!);
      return ExitCode.Ok;
    }
    (command === undefined ? io.err : io.out)(mainUsage());
    return command === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    io.out(`netboot ${packageVersion()}`);
    return ExitCode.Ok;
  }
  const load = COMMANDS[command];
  if (load === undefined) {
    io.err(`netboot: unknown command "${command}" (NETBOOT_ERR_USAGE)\n\n${mainUsage()}`);
    return ExitCode.Usage;
  }
  try {
    const run = await load();
    return await run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`netboot ${command}: ${error.message} (NETBOOT_ERR_USAGE)\n\nUsage: ${COMMAND_USAGE[command]}`);
      return ExitCode.Usage;
    }
    io.err(`netboot ${command}: internal error: ${(error as Error)?.stack ?? String(error)} (NETBOOT_ERR_INTERNAL)`);
    return ExitCode.Internal;
  }
}


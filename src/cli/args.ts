/** node:util parseArgs with netboot's conventions: strict, errors become UsageError, --help on every command. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfigFile, type LoadResult } from '../config/load.js';
import { formatIssue } from '../config/issues.js';
import type { Config } from '../config/types.js';
import { ExitCode } from './exit-codes.js';
import { UsageError, type CliIo } from './io.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

export function parseCommandArgs(command: string, args: string[], options: Options, positionals: { min: number; max: number; names: string }): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs messages are good ("Unknown option '--conf'"); drop its advice about '--' which does not apply here.
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''), command);
  }
  const values = parsed.values as Parsed['values'];
  const help = values.help === true;
  if (!help) {
    if (parsed.positionals.length < positionals.min) throw new UsageError(`missing ${positionals.names}`, command);
    if (parsed.positionals.length > positionals.max) throw new UsageError(`unexpected argument "${parsed.positionals[positionals.max]}"`, command);
  }
  return { values, positionals: parsed.positionals, help };
}

export const CONFIG_OPTION = { config: { type: 'string', short: 'c' } } as const satisfies Options;

export function requireConfigPath(command: string, values: Parsed['values']): string {
  const path = values.config;
  if (typeof path !== 'string' || path === '') throw new UsageError('--config FILE is required', command);
  return path;
}

/**
 * Loads the config for a command that only reads it (missing files are
 * warnings). On errors prints them and returns the exit code instead.
 */
export function loadForCommand(path: string, io: CliIo, options: { showWarnings?: boolean } = {}): Config | number {
  const result: LoadResult = loadConfigFile(path, { allowMissing: true });
  if (!result.ok) {
    for (const issue of result.issues) io.err(formatIssue(issue));
    return ExitCode.ConfigInvalid;
  }
  if (options.showWarnings) for (const warning of result.warnings) io.err(formatIssue(warning));
  return result.config;
}

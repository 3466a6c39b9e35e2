/** `netboot serve`: validate, then run the supervisor until a signal ends it. */
import { COMMAND_USAGE } from '../help.js';
import { CONFIG_OPTION, parseCommandArgs, requireConfigPath } from '../args.js';
import type { CliIo } from '../io.js';
import { installProcessHandlers, serve } from '../../supervisor/run.js';

export async function runServe(args: string[], io: CliIo): Promise<number | null> {
  const { values, help } = parseCommandArgs('serve', args, { ...CONFIG_OPTION, 'allow-missing': { type: 'boolean' } }, { min: 0, max: 0, names: '' });
  if (help) {
    io.out(COMMAND_USAGE.serve!);
    return 0;
  }
  const configPath = requireConfigPath('serve', values);
  const started = await serve({ configPath, allowMissing: values['allow-missing'] === true, writeError: io.err });
  if (typeof started === 'number') {
    // Everything started was stopped; should a service have leaked a handle, still exit (not keep the loop alive).
    setTimeout(() => process.exit(started), 2000).unref();
    return started;
  }
  installProcessHandlers(started);
  return null;
}

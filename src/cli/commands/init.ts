/** `netboot init`: copy the boot loaders into the TFTP root, and say which package provides any that are missing. */
import { resolve } from 'node:path';
import { initTftpRoot, missingPackages } from '../../tools/init-tftproot.js';
import { parseCommandArgs } from '../args.js';
import { ExitCode } from '../exit-codes.js';
import { COMMAND_USAGE } from '../help.js';
import type { CliIo } from '../io.js';

export async function runInit(args: string[], io: CliIo): Promise<number> {
  const { values, help } = parseCommandArgs('init', args, { dir: { type: 'string', short: 'd' }, 'source-root': { type: 'string' } }, { min: 0, max: 0, names: '' });
  if (help) {
    io.out(COMMAND_USAGE.init!);
    return ExitCode.Ok;
  }
  const dir = resolve(typeof values.dir === 'string' ? values.dir : 'tftpboot');
  let report;
  try {
    report = initTftpRoot(dir, typeof values['source-root'] === 'string' ? { sourceRoot: values['source-root'] } : {});
  } catch (error) {
    io.err(`netboot init: cannot fill ${dir}: ${(error as Error).message}`);
    return ExitCode.ApiOrState;
  }
  for (const source of report.copied) io.out(`copied    ${source.name.padEnd(15)} from ${source.from}`);
  for (const source of report.updated) io.out(`updated   ${source.name.padEnd(15)} from ${source.from} (the package has a newer file)`);
  for (const source of report.unchanged) io.out(`up to date ${source.name}`);
  for (const source of report.missing) {
    (source.optional ? io.out : io.err)(`${source.optional ? 'skipped' : 'missing'}   ${source.name.padEnd(15)} ${source.role}: ${source.from} not found; install the Debian package ${source.debianPackage}`);
  }
  const { required, optional } = missingPackages(report);
  if (optional.length > 0) io.out(`optional: apt-get install -y ${optional.join(' ')}   (only for the profiles noted above), then run netboot init again`);
  if (required.length > 0) {
    io.err(`netboot init: apt-get install -y ${required.join(' ')}, then run netboot init again (NETBOOT_ERR_INIT_MISSING)`);
    return ExitCode.NotFound;
  }
  io.out(`${dir}: boot loaders in place (${report.copied.length} copied, ${report.updated.length} updated, ${report.unchanged.length} already there)`);
  return ExitCode.Ok;
}

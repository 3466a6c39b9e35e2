/** `netboot leases`: the lease file as a table, or JSON for scripts. */
import { CONFIG_OPTION, loadForCommand, parseCommandArgs, requireConfigPath } from '../args.js';
import { ExitCode } from '../exit-codes.js';
import { COMMAND_USAGE } from '../help.js';
import type { CliIo } from '../io.js';
import { readLeaseFile } from '../lease-file.js';

export async function runLeases(args: string[], io: CliIo): Promise<number> {
  const { values, help } = parseCommandArgs('leases', args, { ...CONFIG_OPTION, json: { type: 'boolean' } }, { min: 0, max: 0, names: '' });
  if (help) {
    io.out(COMMAND_USAGE.leases!);
    return ExitCode.Ok;
  }
  const config = loadForCommand(requireConfigPath('leases', values), io);
  if (typeof config === 'number') return config;
  let result;
  try {
    result = await readLeaseFile(config.dhcp.leaseFile);
  } catch (error) {
    io.err(`netboot leases: cannot read ${config.dhcp.leaseFile}: ${(error as Error).message} (NETBOOT_ERR_STATE_CORRUPT)`);
    return ExitCode.ApiOrState;
  }
  const leases = [...result.leases].sort((a, b) => ipKey(a.ip) - ipKey(b.ip));
  for (const note of result.notes) io.err(`netboot leases: ${note}`);
  if (values.json === true) {
    io.out(JSON.stringify(leases, null, 2));
    return ExitCode.Ok;
  }
  const hostByMac = new Map(config.hosts.map((host) => [host.mac, host.name]));
  const rows = leases.map((lease) => [
    lease.ip,
    lease.mac,
    lease.hostName ?? hostByMac.get(lease.mac) ?? '-',
    lease.state + (lease.reserved ? ' (reserved)' : ''),
    lease.expiresAt > 0 ? new Date(lease.expiresAt).toISOString().replace(/\.\d+Z$/, 'Z') : '-',
    lease.firmware ?? '-',
  ]);
  io.out(table(['ADDRESS', 'MAC', 'HOST', 'STATE', 'EXPIRES', 'FIRMWARE'], rows));
  io.out(`${leases.length} lease${leases.length === 1 ? '' : 's'} in ${config.dhcp.leaseFile}`);
  return ExitCode.Ok;
}

function ipKey(ip: string): number {
  return ip.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

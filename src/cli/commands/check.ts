/**
 * `netboot check`: validate a config without binding anything, print every
 * problem as file:line:col path: reason, and a summary of what it would serve.
 */
import { loadConfigFile } from '../../config/load.js';
import { formatIssue } from '../../config/issues.js';
import type { Config } from '../../config/types.js';
import { formatCidr, formatIpv4 } from '../../net/ipv4.js';
import { CONFIG_OPTION, parseCommandArgs, requireConfigPath } from '../args.js';
import { ExitCode } from '../exit-codes.js';
import { COMMAND_USAGE } from '../help.js';
import type { CliIo } from '../io.js';

export async function runCheck(args: string[], io: CliIo): Promise<number> {
  const { values, help } = parseCommandArgs('check', args, CONFIG_OPTION, { min: 0, max: 0, names: '' });
  if (help) {
    io.out(COMMAND_USAGE.check!);
    return ExitCode.Ok;
  }
  const path = requireConfigPath('check', values);
  const result = loadConfigFile(path, { allowMissing: true });
  if (!result.ok) {
    for (const issue of result.issues) io.out(formatIssue(issue));
    const errors = result.issues.filter((issue) => issue.severity === 'error').length;
    const warnings = result.issues.length - errors;
    io.out(`${path}: ${plural(errors, 'error')}${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''}`);
    return ExitCode.ConfigInvalid;
  }
  io.out(summarise(result.config).join('\n'));
  for (const warning of result.warnings) io.out(formatIssue(warning));
  io.out(`${path}: OK${result.warnings.length > 0 ? ` (${plural(result.warnings.length, 'warning')})` : ''}`);
  return ExitCode.Ok;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** What the config serves, in the words an admin checks it by. */
export function summarise(config: Config): string[] {
  const lines: string[] = [`config ${config.source.file}`, `  server    ${config.server.addressText}${config.server.interface ? ` on ${config.server.interface}` : ''}`];
  const { dhcp, tftp, http } = config;
  if (dhcp.mode === 'off') {
    lines.push('  dhcp      off');
  } else {
    const subnets = dhcp.subnets.map((subnet) => {
      const pools = subnet.pools.map((pool) => `${formatIpv4(pool.first)}-${formatIpv4(pool.last)}`).join(', ') || 'reservations only';
      return `${formatCidr(subnet.cidr)} (pool ${pools})`;
    });
    lines.push(`  dhcp      ${dhcp.mode} on udp ${dhcp.listenAddress}:${dhcp.port}${dhcp.mode === 'proxy' ? ` and ${dhcp.proxyPort}` : ''}; ${subnets.join('; ') || 'no subnet'}; lease ${dhcp.leaseTimeS} s`);
  }
  lines.push(tftp.enabled ? `  tftp      udp ${tftp.listenAddress}:${tftp.port}, root ${tftp.root}${tftp.portRange ? `, transfer ports ${tftp.portRange.first}-${tftp.portRange.last}` : ''}` : '  tftp      off');
  if (http.enabled) {
    const trees = Object.keys(http.trees);
    lines.push(`  http      tcp ${http.listenAddress}:${http.port}, clients use ${http.baseUrl}; trees: ${trees.join(', ') || 'none'}; API ${http.apiToken ? 'read-write with token' : 'read-only (no apiToken)'}`);
  } else {
    lines.push('  http      off');
  }
  const hostsByProfile = new Map<string, number>();
  for (const host of config.hosts) {
    const name = host.profile ?? config.defaultProfile ?? '(none)';
    hostsByProfile.set(name, (hostsByProfile.get(name) ?? 0) + 1);
  }
  lines.push(`  profiles  ${config.profiles.size}`);
  for (const profile of config.profiles.values()) {
    const kind = profile.localboot ? 'local disk' : `${profile.loader}, kernel ${profile.kernel}`;
    const count = hostsByProfile.get(profile.name) ?? 0;
    const marks = [plural(count, 'host'), ...(config.defaultProfile === profile.name ? ['default for unknown machines'] : []), ...(profile.kickstartFile ? [`answer file ${profile.kickstartFile}`] : [])];
    lines.push(`    ${profile.name.padEnd(16)} ${kind}; ${marks.join('; ')}`);
  }
  lines.push(`  hosts     ${config.hosts.length}${config.defaultProfile === null ? '; unknown machines are ignored (no defaultProfile)' : `; unknown machines get profile ${config.defaultProfile}`}`);
  for (const host of config.hosts) {
    const address = host.ip === null ? (dhcp.mode === 'authoritative' ? 'from pool' : '-') : formatIpv4(host.ip);
    lines.push(`    ${host.name.padEnd(16)} ${host.mac}  ${address.padEnd(15)} ${host.profile ?? `${config.defaultProfile ?? '(none)'} (default)`}${host.once ? ', boot once' : ''}`);
  }
  return lines;
}

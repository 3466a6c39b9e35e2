/**
 * `netboot firewall`: the inbound rules the config needs, for nftables or
 * iptables, to paste into the admin's own ruleset. Rules are printed, never
 * applied: a boot server's firewall is the admin's to own.
 */
import type { Config } from '../../config/types.js';
import { CONFIG_OPTION, loadForCommand, parseCommandArgs, requireConfigPath } from '../args.js';
import { ExitCode } from '../exit-codes.js';
import { COMMAND_USAGE } from '../help.js';
import { UsageError, type CliIo } from '../io.js';

export type FirewallFlavour = 'nft' | 'iptables';

interface Rule {
  comment: string;
  protocol: 'udp' | 'tcp';
  /** One port or `first-last`. */
  ports: string;
}

export async function runFirewall(args: string[], io: CliIo): Promise<number> {
  const { values, help } = parseCommandArgs('firewall', args, { ...CONFIG_OPTION, nft: { type: 'boolean' }, iptables: { type: 'boolean' } }, { min: 0, max: 0, names: '' });
  if (help) {
    io.out(COMMAND_USAGE.firewall!);
    return ExitCode.Ok;
  }
  if (values.nft === true && values.iptables === true) throw new UsageError('choose one of --nft and --iptables', 'firewall');
  const config = loadForCommand(requireConfigPath('firewall', values), io);
  if (typeof config === 'number') return config;
  io.out(firewallRules(config, values.iptables === true ? 'iptables' : 'nft'));
  return ExitCode.Ok;
}

/** The rules as a script with comments. */
export function firewallRules(config: Config, flavour: FirewallFlavour): string {
  const rules: Rule[] = [];
  const { dhcp, tftp, http } = config;
  if (dhcp.mode !== 'off') {
    rules.push({ comment: `DHCP (${dhcp.mode}): clients broadcast from port ${dhcp.clientPort} to ${dhcp.port}, relays send from ${dhcp.port}; replies go out to port ${dhcp.clientPort}`, protocol: 'udp', ports: String(dhcp.port) });
    if (dhcp.mode === 'proxy') rules.push({ comment: 'proxyDHCP boot-server requests (PXE spec 2.1: UEFI firmware asks port 4011 after the DHCP exchange)', protocol: 'udp', ports: String(dhcp.proxyPort) });
  }
  if (tftp.enabled) {
    rules.push({ comment: 'TFTP read requests', protocol: 'udp', ports: String(tftp.port) });
    if (tftp.portRange !== null) {
      rules.push({ comment: `TFTP transfers: tftp.portRange ${tftp.portRange.first}-${tftp.portRange.last} (see the note above)`, protocol: 'udp', ports: `${tftp.portRange.first}-${tftp.portRange.last}` });
    }
  }
  if (http.enabled) rules.push({ comment: 'HTTP: iPXE scripts, kernels and initrds, answer files, installer trees, API', protocol: 'tcp', ports: String(http.port) });

  const iface = config.server.interface;
  const lines = [
    `# Inbound rules for netboot, generated from ${config.source.file}`,
    `# by \`netboot firewall --${flavour}\`. Review them, then add them to your ruleset.`,
    iface ? `# Only on the boot interface ${iface} (server.interface).` : '# server.interface is not set: rules apply on every interface; set it to limit them to the boot network.',
  ];
  if (tftp.enabled) {
    lines.push(
      '#',
      `# Why TFTP needs more than port ${tftp.port}: RFC 1350 §4 has the server answer each`,
      '# request from a new port of its own (the transfer ID), and the client sends its',
      '# ACKs to that port, not to 69. Those ACKs are not "to port 69", so a rule for 69',
      '# alone lets the request in and then stalls the transfer.',
      tftp.portRange !== null
        ? `# This config pins transfer ports to tftp.portRange ${tftp.portRange.first}-${tftp.portRange.last}, so opening that range is enough, with or without connection tracking.`
        : '# This config has no tftp.portRange, so transfer ports are any free ephemeral port. A stateful firewall admits the ACKs as replies (the server\'s first DATA packet opened the flow); the conntrack TFTP helper below also relates them to the request, which NAT and stricter rulesets need. Alternatively set tftp.portRange and open just that range.',
    );
  }
  if (dhcp.mode !== 'off') {
    lines.push('#', '# DHCP clients have no address yet (source 0.0.0.0), so do not restrict the DHCP rule by source address.');
  }
  lines.push('');
  lines.push(...(flavour === 'nft' ? nftRules(rules, iface, tftp.enabled && tftp.portRange === null, tftp.port) : iptablesRules(rules, iface, tftp.enabled && tftp.portRange === null, tftp.port)));
  if (rules.length === 0) lines.push('# every service is disabled: nothing to open');
  return `${lines.join('\n')}\n`;
}

function nftRules(rules: Rule[], iface: string | null, tftpHelper: boolean, tftpPort: number): string[] {
  const on = iface ? `iifname "${iface}" ` : '';
  const lines = ['# nftables (load with `nft -f FILE`): assumes table inet filter with a base chain "input"; adjust the names to your ruleset.'];
  if (tftpHelper) {
    lines.push(
      `# conntrack TFTP helper (kernel module nf_conntrack_tftp, loaded on demand)${helperPortNote(tftpPort)}`,
      'add ct helper inet filter tftp-standard { type "tftp" protocol udp; }',
      'add chain inet filter netboot-prerouting { type filter hook prerouting priority filter; }',
      `add rule inet filter netboot-prerouting ${on}udp dport ${tftpPort} ct helper set "tftp-standard"`,
      'add rule inet filter input ct state established,related accept',
    );
  }
  for (const rule of rules) {
    lines.push(`# ${rule.comment}`, `add rule inet filter input ${on}${rule.protocol} dport ${rule.ports} accept`);
  }
  return lines;
}

function iptablesRules(rules: Rule[], iface: string | null, tftpHelper: boolean, tftpPort: number): string[] {
  const on = iface ? `-i ${iface} ` : '';
  const lines = ['# iptables: appends to the INPUT chain; insert them before your final DROP/REJECT rule.'];
  if (tftpHelper) {
    lines.push(
      '# conntrack TFTP helper',
      `modprobe nf_conntrack_tftp${tftpPort === 69 ? '' : ` ports=${tftpPort}`}`,
      `iptables -t raw -A PREROUTING ${on}-p udp --dport ${tftpPort} -j CT --helper tftp`,
      'iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    );
  }
  for (const rule of rules) {
    lines.push(`# ${rule.comment}`, `iptables -A INPUT ${on}-p ${rule.protocol} --dport ${rule.ports.replace('-', ':')} -j ACCEPT`);
  }
  return lines;
}

/** The kernel's TFTP helper only watches port 69 unless told otherwise. */
function helperPortNote(tftpPort: number): string {
  return tftpPort === 69 ? '' : `; it watches port 69 only unless loaded with \`modprobe nf_conntrack_tftp ports=${tftpPort}\``;
}

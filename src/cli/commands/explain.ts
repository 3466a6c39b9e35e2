/**
 * `netboot explain`: what one machine would be handed, asked of the same
 * boot policy the services ask, so what it prints is what happens.
 */
import type { Config } from '../../config/types.js';
import { formatIpv4 } from '../../net/ipv4.js';
import { macWithDashes, parseMac } from '../../net/mac.js';
import { decideBoot, type BootDecision, type BootState } from '../../policy/boot-policy.js';
import { identifyClient, type ClientFacts } from '../../policy/client-identity.js';
import { renderGrubConfig, renderIpxeScript, renderKickstart, renderPxelinuxConfig } from '../../policy/render.js';
import { kickstartUrl } from '../../policy/urls.js';
import type { LeaseInfo } from '../../runtime/lease-view.js';
import { CONFIG_OPTION, loadForCommand, parseCommandArgs, requireConfigPath } from '../args.js';
import { ExitCode } from '../exit-codes.js';
import { COMMAND_USAGE } from '../help.js';
import { UsageError, type CliIo } from '../io.js';
import { readBootOnceDone } from '../boot-once-file.js';
import { readLeaseFile } from '../lease-file.js';

/** What `--arch` stands for: the DHCP facts such a client sends (pxe-lab notes: QEMU SeaBIOS iPXE ROM, OVMF). */
export const EXPLAIN_ARCHES: Readonly<Record<string, { facts: Omit<ClientFacts, 'mac'>; label: string }>> = {
  bios: { facts: { arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001' }, label: 'BIOS PXE firmware (option 93 = 0)' },
  'uefi-x64': { facts: { arch: 7, vendorClass: 'PXEClient:Arch:00007:UNDI:003016' }, label: 'UEFI x64 PXE firmware (option 93 = 7)' },
  'uefi-ia32': { facts: { arch: 6, vendorClass: 'PXEClient:Arch:00006:UNDI:003016' }, label: 'UEFI ia32 PXE firmware (option 93 = 6)' },
  'uefi-arm64': { facts: { arch: 11, vendorClass: 'PXEClient:Arch:00011:UNDI:003000' }, label: 'UEFI arm64 PXE firmware (option 93 = 11)' },
  ipxe: { facts: { arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001', userClass: 'iPXE', hasIpxeOptions: true }, label: 'iPXE (user class "iPXE", option 175)' },
  'uefi-http': { facts: { arch: 16, vendorClass: 'HTTPClient:Arch:00016:UNDI:003000' }, label: 'UEFI x64 HTTP boot (option 93 = 16, vendor class HTTPClient)' },
};

export async function runExplain(args: string[], io: CliIo): Promise<number> {
  const { values, positionals, help } = parseCommandArgs('explain', args, { ...CONFIG_OPTION, arch: { type: 'string', short: 'a' } }, { min: 1, max: 1, names: 'MAC' });
  if (help) {
    io.out(COMMAND_USAGE.explain!);
    return ExitCode.Ok;
  }
  const path = requireConfigPath('explain', values);
  const mac = parseMac(positionals[0]!);
  if (mac === null) throw new UsageError(`invalid MAC address "${positionals[0]}"`, 'explain');
  const arch = typeof values.arch === 'string' ? values.arch : 'bios';
  if (!(arch in EXPLAIN_ARCHES)) throw new UsageError(`--arch must be one of ${Object.keys(EXPLAIN_ARCHES).join(', ')} (got "${arch}")`, 'explain');
  const config = loadForCommand(path, io);
  if (typeof config === 'number') return config;

  const done = readBootOnceDone(config.stateDir);
  const state: BootState = { isOnceDone: (name) => done.has(name) };
  let lease: LeaseInfo | null = null;
  if (config.dhcp.mode === 'authoritative') {
    try {
      const { leases } = await readLeaseFile(config.dhcp.leaseFile);
      lease = leases.find((entry) => entry.mac === mac && (entry.state === 'bound' || entry.state === 'offered')) ?? null;
    } catch {
      lease = null; // a damaged lease file does not change what the policy decides
    }
  }
  io.out(explainMachine(config, mac, arch, state, lease).join('\n'));
  return ExitCode.Ok;
}

/** The explanation as lines: the DHCP answer, then the generated files. */
export function explainMachine(config: Config, mac: string, arch: string, state: BootState, lease: LeaseInfo | null): string[] {
  const { facts, label } = EXPLAIN_ARCHES[arch]!;
  const client = identifyClient({ mac, ...facts });
  const host = config.hostsByMac.get(mac) ?? null;
  const lines: string[] = [`machine     ${mac}${host ? ` = host ${host.name}` : ' (not listed under hosts)'}, asking as ${label}`];
  const decision = decideBoot(config, client, state);
  if (decision === null) {
    lines.push('decision    ignored: not listed under hosts and no defaultProfile, so netboot offers it nothing (its own DHCP server, if any, still may)');
    return lines;
  }
  lines.push(`decision    ${decision.reason}`);
  lines.push(`address     ${addressLine(config, decision, lease)}`);
  lines.push(`next-server ${formatIpv4(decision.nextServer)}`);
  lines.push(`boot file   ${decision.bootFile ?? '(none: the firmware moves on to its next boot device)'}`);
  if (decision.vendorClassReply !== null) lines.push(`option 60   ${decision.vendorClassReply}`);
  if (decision.host?.once) lines.push(`boot once   ${state.isOnceDone(decision.host.name) ? 'install done, boots from disk until `netboot reinstall`' : 'armed: installs on the next boot, then boots from disk'}`);

  const leased = lease === null ? null : ipNumber(lease.ip);
  const address = decision.host?.ip ?? leased;
  if (decision.loader === 'ipxe') {
    if (client.stage === 'firmware' && decision.bootFile !== null) lines.push(`then        iPXE starts, asks DHCP again, and is handed ${decision.scriptUrl}`);
    section(lines, `iPXE script ${decision.scriptUrl}`, renderIpxeScript(config, decision, address));
  } else if (decision.loader === 'pxelinux') {
    lines.push(`then        pxelinux asks TFTP for pxelinux.cfg/01-${macWithDashes(mac)}`);
    section(lines, `pxelinux.cfg/01-${macWithDashes(mac)} (TFTP)`, renderPxelinuxConfig(config, decision, address));
  } else {
    lines.push(`then        GRUB asks TFTP for grub.cfg-01-${macWithDashes(mac)}`);
    section(lines, `grub.cfg-01-${macWithDashes(mac)} (TFTP)`, renderGrubConfig(config, decision, address));
  }
  const kickstart = renderKickstart(config, mac, decision.host, decision.profile, address);
  if (kickstart !== null) {
    section(lines, `answer file ${kickstartUrl(config, decision.host?.name ?? '', mac)}${decision.localBoot ? ' (not fetched: this boot is from disk)' : ''}`, kickstart);
  }
  return lines;
}

function section(lines: string[], title: string, body: string): void {
  lines.push('', `--- ${title} ---`, body.trimEnd());
}

function ipNumber(text: string): number | null {
  const parts = text.split('.').map(Number);
  return parts.length === 4 ? parts.reduce((sum, part) => sum * 256 + part, 0) : null;
}

function addressLine(config: Config, decision: BootDecision, lease: LeaseInfo | null): string {
  switch (config.dhcp.mode) {
    case 'off':
      return 'none from netboot: DHCP is off (dhcp.mode: off); another DHCP server must give the address and point the machine here';
    case 'proxy':
      return 'from the network\'s own DHCP server (proxy mode adds only the boot information)';
    case 'authoritative':
      if (decision.host?.ip != null) return `${formatIpv4(decision.host.ip)} (reservation)`;
      return lease === null ? 'from pool' : `from pool (currently leased: ${lease.ip}, ${lease.state})`;
  }
}

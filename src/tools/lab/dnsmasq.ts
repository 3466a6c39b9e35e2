/**
 * dnsmasq as the reference boot server in a bridge lab: DHCP + its own TFTP,
 * with a static HTTP server beside it for the iPXE cases. bench/boot.mjs runs
 * it side by side with netboot, and it proved the harness before netboot's
 * services existed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DnsmasqLabOptions {
  /** Bridge in the lab namespace. */
  bridge: string;
  serverAddress: string;
  /** 10.77.N: pool is .100-.199. */
  prefix: string;
  tftpRoot: string;
  leaseFile: string;
  /** URL iPXE is handed (a script), or null to hand iPXE the TFTP boot file too. */
  ipxeScriptUrl: string | null;
  /** What the firmware's PXE gets over TFTP: BIOS and UEFI x64. */
  biosBootFile: string;
  uefiBootFile: string;
}

/** dnsmasq arguments: no DNS, no config file, DHCP + TFTP on the lab bridge only, no ICMP check before offers. */
export function dnsmasqArgs(options: DnsmasqLabOptions): string[] {
  const args = [
    '--keep-in-foreground', '--log-facility=-', '--conf-file=/dev/null', '--port=0',
    `--interface=${options.bridge}`, '--bind-interfaces', '--user=root', '--group=root', '--pid-file=',
    `--dhcp-range=${options.prefix}.100,${options.prefix}.199,1h`,
    `--dhcp-leasefile=${options.leaseFile}`, '--dhcp-authoritative',
    // The ping check delays every first OFFER (pxe-lab.md); netboot has no such wait, so neither does the reference.
    '--no-ping',
    '--enable-tftp', `--tftp-root=${options.tftpRoot}`,
    '--dhcp-match=set:ipxe,175',
    '--dhcp-match=set:efi64,option:client-arch,7',
    '--log-dhcp',
  ];
  if (options.ipxeScriptUrl !== null) args.push(`--dhcp-boot=tag:ipxe,${options.ipxeScriptUrl}`);
  args.push(`--dhcp-boot=tag:efi64,tag:!ipxe,${options.uefiBootFile}`);
  args.push(`--dhcp-boot=tag:!efi64,${options.ipxeScriptUrl === null ? '' : 'tag:!ipxe,'}${options.biosBootFile}`);
  return args;
}

/** Writes a per-MAC pxelinux config (the file netboot generates on the fly) for dnsmasq's TFTP root. */
export function writePxelinuxConfigFile(tftpRoot: string, mac: string, text: string): void {
  mkdirSync(join(tftpRoot, 'pxelinux.cfg'), { recursive: true });
  writeFileSync(join(tftpRoot, 'pxelinux.cfg', `01-${mac.toLowerCase().replace(/:/g, '-')}`), text);
}

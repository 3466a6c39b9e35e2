import { describe, expect, it } from 'vitest';
import { decideBoot, NO_BOOT_STATE, type BootState } from '../../../src/policy/boot-policy.js';
import { identifyClient, type ClientFacts } from '../../../src/policy/client-identity.js';
import { validConfig, validConfigWith } from './helpers.js';

const config = validConfig();
const BASE = 'http://10.77.0.1:18080';
const NODE01 = '52:54:00:12:34:56'; // debian-install (ipxe), reserved 10.77.0.11
const NODE02 = '52:54:00:12:34:57'; // pxe-install (pxelinux)
const NODE03 = '52:54:00:12:34:58'; // debian-install, once
const NODE04 = '52:54:00:12:34:59'; // grub-install
const STRANGER = '52:54:00:99:99:99'; // not listed: defaultProfile local

const BIOS: Omit<ClientFacts, 'mac'> = { arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001' };
const UEFI7: Omit<ClientFacts, 'mac'> = { arch: 7, vendorClass: 'PXEClient:Arch:00007:UNDI:003016' };
const UEFI9: Omit<ClientFacts, 'mac'> = { arch: 9, vendorClass: 'PXEClient:Arch:00009:UNDI:003016' };
const UEFI_HTTP: Omit<ClientFacts, 'mac'> = { arch: 16, vendorClass: 'HTTPClient:Arch:00016:UNDI:003000' };
const IPXE_77: Omit<ClientFacts, 'mac'> = { arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001', userClass: 'iPXE' };
const IPXE_175: Omit<ClientFacts, 'mac'> = { arch: 7, vendorClass: 'PXEClient:Arch:00007:UNDI:003016', hasIpxeOptions: true };
const ARM64: Omit<ClientFacts, 'mac'> = { arch: 11, vendorClass: 'PXEClient:Arch:00011:UNDI:003000' };
const IA32: Omit<ClientFacts, 'mac'> = { arch: 6, vendorClass: 'PXEClient:Arch:00006:UNDI:003016' };

interface Case {
  name: string;
  mac: string;
  facts: Omit<ClientFacts, 'mac'>;
  state?: BootState;
  expected: { bootFile: string | null; loader: string; vendorClassReply: string | null; localBoot: boolean; host: string | null; reason: RegExp } | null;
}

const ONCE_DONE: BootState = { isOnceDone: (name) => name === 'node03' };
const HANDED_IPXE: BootState = { isOnceDone: () => false, wasRecentlyHandedIpxe: (mac) => mac === NODE01 };

const CASES: Case[] = [
  { name: 'BIOS PXE, iPXE profile: undionly.kpxe by TFTP', mac: NODE01, facts: BIOS, expected: { bootFile: 'undionly.kpxe', loader: 'ipxe', vendorClassReply: 'PXEClient', localBoot: false, host: 'node01', reason: /host node01: profile debian-install; bios gets ipxe undionly\.kpxe/ } },
  { name: 'UEFI x64 (93 = 7, OVMF): snponly.efi', mac: NODE01, facts: UEFI7, expected: { bootFile: 'snponly.efi', loader: 'ipxe', vendorClassReply: 'PXEClient', localBoot: false, host: 'node01', reason: /uefi-x64 gets ipxe snponly\.efi/ } },
  { name: 'UEFI x64 (93 = 9): snponly.efi too', mac: NODE01, facts: UEFI9, expected: { bootFile: 'snponly.efi', loader: 'ipxe', vendorClassReply: 'PXEClient', localBoot: false, host: 'node01', reason: /uefi-x64 gets/ } },
  { name: 'UEFI HTTP boot (93 = 16, HTTPClient): a full URL and HTTPClient', mac: NODE01, facts: UEFI_HTTP, expected: { bootFile: `${BASE}/tftp/snponly.efi`, loader: 'ipxe', vendorClassReply: 'HTTPClient', localBoot: false, host: 'node01', reason: /uefi-x64 HTTP boot gets ipxe snponly\.efi/ } },
  { name: 'iPXE by user class 77: its script URL', mac: NODE01, facts: IPXE_77, expected: { bootFile: `${BASE}/boot/${NODE01}.ipxe`, loader: 'ipxe', vendorClassReply: null, localBoot: false, host: 'node01', reason: /iPXE gets its script/ } },
  { name: 'iPXE by option 175 only: its script URL', mac: NODE01, facts: IPXE_175, expected: { bootFile: `${BASE}/boot/${NODE01}.ipxe`, loader: 'ipxe', vendorClassReply: null, localBoot: false, host: 'node01', reason: /iPXE gets its script/ } },
  { name: 'unknown architecture (93 = 99): treated as BIOS', mac: NODE01, facts: { arch: 99, vendorClass: 'PXEClient:Arch:00099' }, expected: { bootFile: 'undionly.kpxe', loader: 'ipxe', vendorClassReply: 'PXEClient', localBoot: false, host: 'node01', reason: /bios gets/ } },
  { name: 'pxelinux profile, BIOS: pxelinux.0', mac: NODE02, facts: BIOS, expected: { bootFile: 'pxelinux.0', loader: 'pxelinux', vendorClassReply: 'PXEClient', localBoot: false, host: 'node02', reason: /bios gets pxelinux pxelinux\.0/ } },
  { name: 'pxelinux profile on an iPXE ROM: still pxelinux.0 (iPXE chains it by TFTP)', mac: NODE02, facts: IPXE_77, expected: { bootFile: 'pxelinux.0', loader: 'pxelinux', vendorClassReply: 'PXEClient', localBoot: false, host: 'node02', reason: /pxelinux\.0/ } },
  { name: 'pxelinux profile, UEFI x64: syslinux.efi', mac: NODE02, facts: UEFI7, expected: { bootFile: 'syslinux.efi', loader: 'pxelinux', vendorClassReply: 'PXEClient', localBoot: false, host: 'node02', reason: /syslinux\.efi/ } },
  { name: 'pxelinux profile, arm64: no pxelinux there, falls back to iPXE', mac: NODE02, facts: ARM64, expected: { bootFile: 'snponly-arm64.efi', loader: 'ipxe', vendorClassReply: 'PXEClient', localBoot: false, host: 'node02', reason: /no pxelinux loader for uefi-arm64, using ipxe/ } },
  { name: 'grub profile, UEFI x64: grubnetx64.efi', mac: NODE04, facts: UEFI7, expected: { bootFile: 'grubnetx64.efi', loader: 'grub', vendorClassReply: 'PXEClient', localBoot: false, host: 'node04', reason: /grub grubnetx64\.efi/ } },
  { name: 'iPXE profile, ia32: no loader configured, no boot file', mac: NODE01, facts: IA32, expected: { bootFile: null, loader: 'ipxe', vendorClassReply: 'PXEClient', localBoot: false, host: 'node01', reason: /no boot loader configured for uefi-ia32/ } },
  { name: 'unknown host with a default (local) profile, BIOS: iPXE, whose script exits', mac: STRANGER, facts: BIOS, expected: { bootFile: 'undionly.kpxe', loader: 'ipxe', vendorClassReply: 'PXEClient', localBoot: true, host: null, reason: /unknown machine: profile boots locally/ } },
  { name: 'unknown host with a default profile, iPXE stage: the script', mac: STRANGER, facts: IPXE_77, expected: { bootFile: `${BASE}/boot/${STRANGER}.ipxe`, loader: 'ipxe', vendorClassReply: null, localBoot: true, host: null, reason: /unknown machine/ } },
  { name: 'boot-once host, install pending: installs', mac: NODE03, facts: IPXE_77, state: NO_BOOT_STATE, expected: { bootFile: `${BASE}/boot/${NODE03}.ipxe`, loader: 'ipxe', vendorClassReply: null, localBoot: false, host: 'node03', reason: /profile debian-install/ } },
  { name: 'boot-once host, install done: boots locally', mac: NODE03, facts: IPXE_77, state: ONCE_DONE, expected: { bootFile: `${BASE}/boot/${NODE03}.ipxe`, loader: 'ipxe', vendorClassReply: null, localBoot: true, host: 'node03', reason: /boot-once install done, booting locally/ } },
  { name: 'iPXE that does not identify itself, handed iPXE moments ago: the script, not iPXE again', mac: NODE01, facts: BIOS, state: HANDED_IPXE, expected: { bootFile: `${BASE}/boot/${NODE01}.ipxe`, loader: 'ipxe', vendorClassReply: null, localBoot: false, host: 'node01', reason: /did not identify itself/ } },
  { name: 'a laptop (no PXE options), not listed: ignored', mac: STRANGER, facts: {}, expected: null },
  { name: 'a listed host without PXE options: still booted', mac: NODE01, facts: {}, expected: { bootFile: 'undionly.kpxe', loader: 'ipxe', vendorClassReply: null, localBoot: false, host: 'node01', reason: /node01/ } },
];

describe('decideBoot', () => {
  it.each(CASES)('$name', ({ mac, facts, state, expected }) => {
    const decision = decideBoot(config, identifyClient({ mac, ...facts }), state ?? NO_BOOT_STATE);
    if (expected === null) {
      expect(decision).toBeNull();
      return;
    }
    expect(decision).not.toBeNull();
    expect({ bootFile: decision!.bootFile, loader: decision!.loader, vendorClassReply: decision!.vendorClassReply, localBoot: decision!.localBoot, host: decision!.host?.name ?? null }).toEqual({
      bootFile: expected.bootFile,
      loader: expected.loader,
      vendorClassReply: expected.vendorClassReply,
      localBoot: expected.localBoot,
      host: expected.host,
    });
    expect(decision!.reason).toMatch(expected.reason);
    expect(decision!.nextServer).toBe(config.server.address);
    expect(decision!.scriptUrl).toBe(`${BASE}/boot/${mac}.ipxe`);
  });

  it('ignores an unknown machine when there is no default profile', () => {
    const strict = validConfigWith([/defaultProfile: local\n/, '']);
    expect(decideBoot(strict, identifyClient({ mac: STRANGER, ...BIOS }))).toBeNull();
    expect(decideBoot(strict, identifyClient({ mac: NODE01, ...BIOS }))).not.toBeNull();
  });

  it('boots an unknown non-PXE client only when bootUnknownNonPxe is on', () => {
    const lenient = validConfigWith(['leaseFile: state/leases.json', 'leaseFile: state/leases.json\n  bootUnknownNonPxe: true']);
    expect(decideBoot(lenient, identifyClient({ mac: STRANGER }))).not.toBeNull();
  });

  it('uses bootloaders from the config over the defaults', () => {
    const custom = validConfigWith(['defaultProfile: local', 'defaultProfile: local\nbootloaders: { ipxe: { bios: ipxe.pxe, uefi-x64: ipxe.efi } }']);
    expect(decideBoot(custom, identifyClient({ mac: NODE01, ...BIOS }))?.bootFile).toBe('ipxe.pxe');
    expect(decideBoot(custom, identifyClient({ mac: NODE01, ...UEFI7 }))?.bootFile).toBe('ipxe.efi');
  });
});

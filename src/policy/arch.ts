/**
 * DHCP option 93, client system architecture (RFC 4578 §2.1 and the IANA
 * "Processor Architecture Types" registry), mapped to the firmware kinds
 * netboot picks boot files for.
 */
import type { FirmwareKind } from '../config/types.js';

export interface ArchInfo {
  firmware: FirmwareKind;
  /** The client fetches its boot file by HTTP (UEFI HTTP boot, vendor class "HTTPClient"). */
  httpBoot: boolean;
  label: string;
}

/**
 * RFC 4578 listed 7 as "EFI BC" and 9 as "EFI x86-64"; Errata 4624 and the IANA
 * registry swapped them, and firmware in the wild sends both for x64 (OVMF
 * sends 7), so both mean UEFI x64 here.
 */
const ARCH_TABLE: ReadonlyMap<number, ArchInfo> = new Map([
  [0, { firmware: 'bios', httpBoot: false, label: 'x86 BIOS' }],
  [6, { firmware: 'uefi-ia32', httpBoot: false, label: 'x86 UEFI' }],
  [7, { firmware: 'uefi-x64', httpBoot: false, label: 'x64 UEFI' }],
  [9, { firmware: 'uefi-x64', httpBoot: false, label: 'x64 UEFI (EBC code)' }],
  [11, { firmware: 'uefi-arm64', httpBoot: false, label: 'ARM64 UEFI' }],
  [15, { firmware: 'uefi-ia32', httpBoot: true, label: 'x86 UEFI HTTP' }],
  [16, { firmware: 'uefi-x64', httpBoot: true, label: 'x64 UEFI HTTP' }],
  [19, { firmware: 'uefi-arm64', httpBoot: true, label: 'ARM64 UEFI HTTP' }],
] as const);

/** The firmware for an option-93 value; null for values netboot has no boot files for (logged by the caller, then treated as BIOS). */
export function archInfo(code: number): ArchInfo | null {
  return ARCH_TABLE.get(code) ?? null;
}

/** Option-93 code that stands for a firmware kind, for `netboot explain --arch`. */
export function archCodeFor(firmware: FirmwareKind, httpBoot = false): number {
  for (const [code, info] of ARCH_TABLE) {
    if (info.firmware === firmware && info.httpBoot === httpBoot) return code;
  }
  return 0;
}

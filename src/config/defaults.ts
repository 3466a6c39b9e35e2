import type { FirmwareKind, LoaderKind } from './types.js';

/**
 * The boot loader file names Debian's packages install (see `netboot init`),
 * relative to the TFTP root. Overridden per key by `bootloaders:` in the config.
 *
 * BIOS iPXE is undionly.kpxe: it drives the NIC through the PXE ROM's UNDI, so
 * it works on any NIC the ROM works on. UEFI iPXE is snponly.efi for the same
 * reason (SNP from the firmware).
 */
export const DEFAULT_BOOTLOADERS: Record<LoaderKind, Partial<Record<FirmwareKind, string>>> = {
  ipxe: { bios: 'undionly.kpxe', 'uefi-x64': 'snponly.efi', 'uefi-arm64': 'snponly-arm64.efi' },
  pxelinux: { bios: 'pxelinux.0', 'uefi-x64': 'syslinux.efi' },
  grub: { 'uefi-x64': 'grubnetx64.efi', 'uefi-arm64': 'grubnetaa64.efi', bios: 'core.0' },
};

/**
 * Fills a TFTP root with the boot loaders Debian packages install, so a fresh
 * box boots BIOS and UEFI machines without hunting for files. Idempotent: a
 * file already there with the same bytes is left alone, a different one is
 * replaced atomically (a machine fetching it mid-copy never sees half a file).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface LoaderSource {
  /** Name in the TFTP root. */
  name: string;
  /** Where the Debian package installs it. */
  from: string;
  /** The Debian package that provides it. */
  debianPackage: string;
  /** What it is for, for the report. */
  role: string;
  /** Needed only by some profiles (GRUB, syslinux.efi); missing ones are reported, not failures. */
  optional?: boolean;
}

const SYSLINUX_BIOS = '/usr/lib/syslinux/modules/bios';

export const LOADER_SOURCES: readonly LoaderSource[] = [
  { name: 'pxelinux.0', from: '/usr/lib/PXELINUX/pxelinux.0', debianPackage: 'pxelinux', role: 'BIOS pxelinux (TFTP only)' },
  { name: 'lpxelinux.0', from: '/usr/lib/PXELINUX/lpxelinux.0', debianPackage: 'pxelinux', role: 'BIOS pxelinux that can also fetch over HTTP' },
  // pxelinux loads ldlinux.c32 from beside itself before reading any config; the others are for menus.
  ...['ldlinux', 'libcom32', 'libutil', 'menu', 'vesamenu'].map((module) => ({
    name: `${module}.c32`,
    from: `${SYSLINUX_BIOS}/${module}.c32`,
    debianPackage: 'syslinux-common',
    role: module === 'ldlinux' ? 'pxelinux core module (required by pxelinux.0)' : 'pxelinux menu module',
  })),
  { name: 'undionly.kpxe', from: '/usr/lib/ipxe/undionly.kpxe', debianPackage: 'ipxe', role: 'BIOS iPXE through the NIC ROM\'s UNDI driver' },
  { name: 'ipxe.efi', from: '/usr/lib/ipxe/ipxe.efi', debianPackage: 'ipxe', role: 'UEFI x64 iPXE with its own NIC drivers' },
  { name: 'snponly.efi', from: '/usr/lib/ipxe/snponly.efi', debianPackage: 'ipxe', role: 'UEFI x64 iPXE through the firmware\'s network stack (default)' },
  { name: 'grubnetx64.efi', from: '/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed', debianPackage: 'grub-efi-amd64-signed', role: 'UEFI x64 GRUB network image (grub profiles)', optional: true },
  { name: 'syslinux.efi', from: '/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi', debianPackage: 'syslinux-efi', role: 'UEFI x64 syslinux (pxelinux profiles on UEFI)', optional: true },
  { name: 'ldlinux.e64', from: '/usr/lib/syslinux/modules/efi64/ldlinux.e64', debianPackage: 'syslinux-efi', role: 'core module for syslinux.efi', optional: true },
];

export interface InitReport {
  dir: string;
  copied: LoaderSource[];
  updated: LoaderSource[];
  unchanged: LoaderSource[];
  missing: LoaderSource[];
}

export interface InitOptions {
  /** Prefix for the `from` paths (tests point it at a fake /usr). */
  sourceRoot?: string;
  sources?: readonly LoaderSource[];
}

export function initTftpRoot(dir: string, options: InitOptions = {}): InitReport {
  const report: InitReport = { dir, copied: [], updated: [], unchanged: [], missing: [] };
  mkdirSync(dir, { recursive: true });
  for (const source of options.sources ?? LOADER_SOURCES) {
    const from = options.sourceRoot === undefined ? source.from : join(options.sourceRoot, source.from);
    if (!existsSync(from)) {
      report.missing.push(source);
      continue;
    }
    const to = join(dir, source.name);
    if (existsSync(to)) {
      if (sameBytes(from, to)) {
        report.unchanged.push(source);
        continue;
      }
      copyAtomically(from, to);
      report.updated.push(source);
    } else {
      copyAtomically(from, to);
      report.copied.push(source);
    }
  }
  return report;
}

function sameBytes(a: string, b: string): boolean {
  if (statSync(a).size !== statSync(b).size) return false;
  return readFileSync(a).equals(readFileSync(b));
}

function copyAtomically(from: string, to: string): void {
  const temp = join(to, '..', `.${basename(to)}.tmp-${process.pid}`);
  copyFileSync(from, temp);
  renameSync(temp, to);
}

/** `apt-get install` lines for what is missing, required packages first. */
export function missingPackages(report: InitReport): { required: string[]; optional: string[] } {
  const required = new Set(report.missing.filter((source) => !source.optional).map((source) => source.debianPackage));
  const optional = new Set(report.missing.filter((source) => source.optional).map((source) => source.debianPackage));
  for (const name of required) optional.delete(name);
  return { required: [...required], optional: [...optional] };
}

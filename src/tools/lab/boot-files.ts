/**
 * The files a lab boot server hands out: boot loaders from the machine's
 * Debian packages (nothing third-party is committed), the running distro's
 * kernel, and the marker initramfs.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeInitramfs } from './initramfs.js';

/** Loader file name in the TFTP root → where Debian installs it, and the package. */
export const LAB_LOADERS: readonly { name: string; source: string; pkg: string }[] = [
  { name: 'pxelinux.0', source: '/usr/lib/PXELINUX/pxelinux.0', pkg: 'pxelinux' },
  { name: 'ldlinux.c32', source: '/usr/lib/syslinux/modules/bios/ldlinux.c32', pkg: 'syslinux-common' },
  { name: 'undionly.kpxe', source: '/usr/lib/ipxe/undionly.kpxe', pkg: 'ipxe' },
  { name: 'snponly.efi', source: '/usr/lib/ipxe/snponly.efi', pkg: 'ipxe' },
  { name: 'ipxe.efi', source: '/usr/lib/ipxe/ipxe.efi', pkg: 'ipxe' },
];

/** The newest /boot/vmlinuz-*, or null. NETBOOT_E2E_KERNEL overrides. */
export function findKernel(): string | null {
  const override = process.env.NETBOOT_E2E_KERNEL;
  if (override) return existsSync(override) ? override : null;
  let names: string[];
  try {
    names = readdirSync('/boot').filter((name) => /^vmlinuz-/.test(name));
  } catch {
    return null;
  }
  names.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const newest = names.at(-1);
  return newest === undefined ? null : join('/boot', newest);
}

/** Why a lab TFTP root cannot be filled here (missing package or kernel), or null. */
export function bootFilesUnavailableReason(): string | null {
  const missing = LAB_LOADERS.filter((loader) => !existsSync(loader.source));
  if (missing.length > 0) return `missing ${missing.map((loader) => `${loader.source} (apt-get install ${loader.pkg})`).join(', ')}`;
  if (findKernel() === null) return 'no kernel in /boot (apt-get install linux-image-amd64)';
  if (!existsSync('/bin/busybox')) return 'needs /bin/busybox (apt-get install busybox)';
  return null;
}

/** Paths, relative to the TFTP root, of the kernel and marker initrd. */
export const LAB_KERNEL = 'lab/vmlinuz';
export const LAB_INITRD = 'lab/initrd.img';

/** Fills `root` with the loaders, the kernel and a marker initramfs printing `token`. */
export function fillTftpRoot(root: string, token: string): void {
  mkdirSync(root, { recursive: true });
  for (const loader of LAB_LOADERS) copyFileSync(loader.source, join(root, loader.name));
  addKernelAndInitrd(root, token);
}

/** Adds only the kernel and the marker initramfs (the loaders came from `netboot init`). */
export function addKernelAndInitrd(root: string, token: string): void {
  mkdirSync(join(root, 'lab'), { recursive: true });
  const kernel = findKernel();
  if (kernel === null) throw new Error('no kernel in /boot (apt-get install linux-image-amd64)');
  copyFileSync(kernel, join(root, LAB_KERNEL));
  writeInitramfs(join(root, LAB_INITRD), { token });
}

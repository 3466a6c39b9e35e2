/**
 * A tiny initramfs whose /init prints one marker line with /proc/cmdline on
 * the serial console and powers the machine off: proof that the kernel and
 * initrd a boot server handed out really booted, with the cmdline it chose.
 *
 * The cpio "newc" archive is written here rather than by cpio(1), so the
 * archive can hold /dev/console without mknod (the kernel opens it for init's
 * stdio before anything else is mounted).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

/** The line /init prints: `NETBOOT-E2E-MARKER <token> cmdline=<...>`. */
export const MARKER_PREFIX = 'NETBOOT-E2E-MARKER';

export interface CpioEntry {
  path: string;
  /** Full st_mode: type bits and permissions. */
  mode: number;
  data?: Buffer;
  /** Character/block device numbers. */
  rdev?: { major: number; minor: number };
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function pad4(length: number): number {
  return (4 - (length % 4)) % 4;
}

/** Encodes entries as a cpio newc archive (the format the kernel unpacks, Documentation/driver-api/early-userspace). */
export function encodeCpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const all = [...entries, { path: 'TRAILER!!!', mode: 0 }];
  all.forEach((entry, index) => {
    const data = entry.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${entry.path}\0`);
    const fields = [
      index + 1, entry.mode, 0, 0, (entry.mode & S_IFDIR) === S_IFDIR ? 2 : 1, 0, data.length,
      0, 0, entry.rdev?.major ?? 0, entry.rdev?.minor ?? 0, name.length, 0,
    ];
    const header = Buffer.from(`070701${fields.map((value) => value.toString(16).padStart(8, '0')).join('')}`, 'ascii');
    parts.push(header, name, Buffer.alloc(pad4(header.length + name.length)), data, Buffer.alloc(pad4(data.length)));
  });
  return Buffer.concat(parts);
}

/** Shared libraries a dynamically linked program needs, as absolute paths (empty for a static one). */
export function sharedLibrariesOf(program: string): string[] {
  let output: string;
  try {
    output = execFileSync('ldd', [program], { encoding: 'utf8', stdio: 'pipe' });
  } catch {
    return []; // "not a dynamic executable"
  }
  const paths = new Set<string>();
  for (const line of output.split('\n')) {
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (match?.[1]) paths.add(match[1]);
  }
  return [...paths];
}

export interface InitramfsOptions {
  /** Unique token printed in the marker line, so a stale serial log never matches. */
  token: string;
  busybox?: string;
}

/** The /init script. `poweroff -f` powers off at once; QEMU exits with it. */
export function initScript(token: string): string {
  return [
    '#!/bin/sh',
    'mount -t proc proc /proc',
    `echo "${MARKER_PREFIX} ${token} cmdline=$(cat /proc/cmdline)"`,
    'poweroff -f',
    '',
  ].join('\n');
}

/** Builds the gzipped initramfs and returns its bytes. */
export function buildInitramfs(options: InitramfsOptions): Buffer {
  const busybox = realpathSync(options.busybox ?? '/bin/busybox');
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const addDir = (dir: string): void => {
    const segments = dir.split('/').filter(Boolean);
    for (let i = 1; i <= segments.length; i++) {
      const path = segments.slice(0, i).join('/');
      if (!dirs.has(path)) {
        dirs.add(path);
        entries.push({ path, mode: S_IFDIR | 0o755 });
      }
    }
  };
  const addFile = (path: string, data: Buffer, mode = 0o755): void => {
    addDir(path.split('/').slice(0, -1).join('/'));
    entries.push({ path, mode: S_IFREG | mode, data });
  };
  for (const dir of ['bin', 'dev', 'proc', 'sys']) addDir(dir);
  entries.push({ path: 'dev/console', mode: S_IFCHR | 0o600, rdev: { major: 5, minor: 1 } });
  addFile('bin/busybox', readFileSync(busybox));
  for (const applet of ['sh', 'mount', 'cat', 'echo', 'poweroff']) {
    entries.push({ path: `bin/${applet}`, mode: S_IFLNK | 0o777, data: Buffer.from('busybox') });
  }
  // A dynamically linked busybox (Debian's is) needs its libraries at the paths ldd names.
  for (const library of sharedLibrariesOf(busybox)) addFile(library.replace(/^\/+/, ''), readFileSync(library));
  addFile('init', Buffer.from(initScript(options.token)));
  return gzipSync(encodeCpioNewc(entries), { level: 6 });
}

export function writeInitramfs(file: string, options: InitramfsOptions): void {
  writeFileSync(file, buildInitramfs(options));
}

/** Finds the marker line in serial output; returns the cmdline it printed, or null. */
export function findMarker(serialText: string, token: string): { line: string; cmdline: string } | null {
  const start = serialText.indexOf(`${MARKER_PREFIX} ${token} `);
  if (start < 0) return null;
  const end = serialText.indexOf('\n', start);
  if (end < 0) return null; // line not complete yet
  const line = serialText.slice(start, end).replace(/\r$/, '');
  return { line, cmdline: line.slice(line.indexOf('cmdline=') + 'cmdline='.length) };
}

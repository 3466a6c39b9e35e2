/**
 * What a TFTP name resolves to: a generated loader config from the boot
 * policy, or a file inside `tftp.root` checked by realpath containment
 * (never `..`, an absolute escape, a symlink out of the root, or a NUL).
 * Hot boot files are kept in a size-capped in-memory cache so a hundred
 * machines fetching one initrd read it from disk once.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import { join, sep } from 'node:path';
import type { Config } from '../config/types.js';
import { virtualTftpFile, type VirtualFileContext } from '../policy/virtual-files.js';
import type { SourceSpec } from './block-source.js';
import { ErrorCode, type ErrorCodeValue } from './codec.js';

/**
 * Longest name accepted, in bytes. Linux's NAME_MAX is 255 per component and
 * no boot loader asks for more than a few dozen; a longer name is a probe.
 */
export const MAX_TFTP_NAME_BYTES = 255;
/** netascii needs the whole file translated in memory; loader configs are a few KiB, so this is generous. */
export const MAX_NETASCII_BYTES = 64 * 1024 * 1024;

export type RefusalReason =
  | 'bad-name'
  | 'name-too-long'
  | 'absolute-path'
  | 'traversal'
  | 'outside-root'
  | 'not-found'
  | 'not-a-file'
  | 'unreadable'
  | 'too-large-for-netascii';

export interface Refusal {
  ok: false;
  errorCode: ErrorCodeValue;
  reason: RefusalReason;
  /** Sent to the client in the ERROR packet and logged. */
  message: string;
}

function refuse(errorCode: ErrorCodeValue, reason: RefusalReason, message: string): Refusal {
  return { ok: false, errorCode, reason, message };
}

/**
 * Turns a requested name into a root-relative path, or refuses it. Pure.
 * `\` becomes `/` because Windows-style loaders (WDS, some PXE ROMs) ask
 * `boot\x64\wdsnbp.com`; a leading `/` is dropped when configured because
 * many DHCP configs write `filename "/pxelinux.0"` for servers chrooted at
 * the root.
 */
export function normaliseTftpName(raw: string, options: { stripLeadingSlash: boolean }): { ok: true; relative: string } | Refusal {
  if (Buffer.byteLength(raw, 'latin1') > MAX_TFTP_NAME_BYTES) return refuse(ErrorCode.AccessViolation, 'name-too-long', 'File name too long');
  // Control characters (NUL included) have no place in a boot file name.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(raw)) return refuse(ErrorCode.AccessViolation, 'bad-name', 'Illegal character in file name');
  let name = raw.replace(/\\/g, '/');
  if (name.startsWith('/')) {
    if (!options.stripLeadingSlash) return refuse(ErrorCode.AccessViolation, 'absolute-path', 'Absolute paths are not allowed');
    name = name.replace(/^\/+/, '');
  }
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '..') return refuse(ErrorCode.AccessViolation, 'traversal', 'Path traversal is not allowed');
    if (part === '' || part === '.') continue;
    parts.push(part);
  }
  if (parts.length === 0) return refuse(ErrorCode.FileNotFound, 'not-a-file', 'File not found');
  return { ok: true, relative: parts.join('/') };
}

/**
 * netascii (RFC 764 via RFC 1350): LF → CR LF and CR → CR NUL, so the
 * client's reverse mapping restores the file byte for byte.
 */
export function toNetascii(data: Buffer): Buffer {
  let extra = 0;
  for (let i = 0; i < data.length; i++) {
    const byte = data[i];
    if (byte === 0x0a || byte === 0x0d) extra++;
  }
  if (extra === 0) return data;
  const out = Buffer.allocUnsafe(data.length + extra);
  let at = 0;
  for (let i = 0; i < data.length; i++) {
    const byte = data[i]!;
    if (byte === 0x0a) {
      out[at++] = 0x0d;
      out[at++] = 0x0a;
    } else if (byte === 0x0d) {
      out[at++] = 0x0d;
      out[at++] = 0x00;
    } else {
      out[at++] = byte;
    }
  }
  return out;
}

interface CacheEntry {
  /** Identity of the file version: a changed file is a different entry. */
  stamp: string;
  content: Buffer | null;
  loading: Promise<Buffer> | null;
}

/**
 * Whole files in memory, least recently used dropped first, under a byte
 * budget. A file is cached when it fits the budget; concurrent first
 * requests share one read.
 */
export class FileCache {
  private readonly entries = new Map<string, CacheEntry>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private budgetBytes: number) {}

  setBudget(budgetBytes: number): void {
    this.budgetBytes = budgetBytes;
    this.evict();
  }

  get usedBytes(): number {
    return this.bytes;
  }

  fits(size: number): boolean {
    return size <= this.budgetBytes;
  }

  async get(path: string, stamp: string, size: number, handle: fs.FileHandle): Promise<Buffer> {
    const entry = this.entries.get(path);
    if (entry && entry.stamp === stamp) {
      this.entries.delete(path);
      this.entries.set(path, entry); // most recently used last
      this.hits++;
      if (entry.content) return entry.content;
      if (entry.loading) return entry.loading;
    }
    if (entry) this.drop(path, entry);
    this.misses++;
    const fresh: CacheEntry = { stamp, content: null, loading: null };
    fresh.loading = readWhole(handle, size, true).then(
      (content) => {
        fresh.loading = null;
        if (this.entries.get(path) === fresh) {
          fresh.content = content;
          this.bytes += content.length;
          this.evict();
        }
        return content;
      },
      (error: unknown) => {
        if (this.entries.get(path) === fresh) this.entries.delete(path);
        throw error;
      },
    );
    this.entries.set(path, fresh);
    return fresh.loading;
  }

  private drop(path: string, entry: CacheEntry): void {
    if (entry.content) this.bytes -= entry.content.length;
    this.entries.delete(path);
  }

  private evict(): void {
    for (const [path, entry] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      if (entry.content) this.drop(path, entry);
    }
  }
}

async function readWhole(handle: fs.FileHandle, size: number, shared = false): Promise<Buffer> {
  // Cached content lives in shared memory so transfer worker threads read it without a copy.
  const content = shared ? Buffer.from(new SharedArrayBuffer(size)) : Buffer.allocUnsafeSlow(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await handle.read(content, filled, size - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === size ? content : content.subarray(0, filled);
}

export interface Resolved extends SourceSpec {
  ok: true;
  /** Root-relative name, for logs and events. */
  name: string;
  /** `virtual` (generated), `cache` (in memory), `disk` (streamed by fd). */
  origin: 'virtual' | 'cache' | 'disk';
  /** Closes the file when streamed; call once the transfer is over. */
  release(): void;
}

function inMemory(name: string, content: Buffer, origin: 'virtual' | 'cache'): Resolved {
  return { ok: true, name, origin, content, fd: null, size: content.length, release: () => undefined };
}

export interface ResolveRequest {
  rawName: string;
  mode: 'octet' | 'netascii';
  who: VirtualFileContext;
}

/** Resolves names against the current config's root, virtual files first. */
export class FileResolver {
  readonly cache: FileCache;

  constructor(cacheBytes: number) {
    this.cache = new FileCache(cacheBytes);
  }

  async resolve(config: Config, request: ResolveRequest): Promise<Resolved | Refusal> {
    const checked = normaliseTftpName(request.rawName, { stripLeadingSlash: config.tftp.stripLeadingSlash });
    if (!checked.ok) return checked;
    const name = checked.relative;

    const text = virtualTftpFile(config, name, request.who);
    if (text !== null) {
      const bytes = Buffer.from(text, 'utf8');
      return inMemory(name, request.mode === 'netascii' ? toNetascii(bytes) : bytes, 'virtual');
    }
    return this.resolveOnDisk(config.tftp.root, name, request.mode);
  }

  private async resolveOnDisk(root: string, name: string, mode: 'octet' | 'netascii'): Promise<Resolved | Refusal> {
    let realRoot: string;
    let real: string;
    try {
      realRoot = await fs.realpath(root);
    } catch {
      return refuse(ErrorCode.FileNotFound, 'not-found', 'File not found');
    }
    try {
      real = await fs.realpath(join(realRoot, name));
    } catch (error) {
      return fsRefusal(error);
    }
    // Containment on the resolved path: a symlink anywhere in the name that
    // leads out of the root is caught here, whatever the name looked like.
    if (!real.startsWith(realRoot + sep)) return refuse(ErrorCode.AccessViolation, 'outside-root', 'Access violation');

    let handle: fs.FileHandle;
    try {
      // O_NOFOLLOW: the final component was resolved above; refuse if it was swapped for a link since.
      handle = await fs.open(real, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    } catch (error) {
      return fsRefusal(error);
    }
    let keepHandle = false;
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return refuse(ErrorCode.FileNotFound, 'not-a-file', 'File not found');
      const stamp = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
      if (mode === 'netascii') {
        if (stat.size > MAX_NETASCII_BYTES) return refuse(ErrorCode.NotDefined, 'too-large-for-netascii', 'File too large for netascii mode');
        const content = this.cache.fits(stat.size) ? await this.cache.get(real, stamp, stat.size, handle) : await readWhole(handle, stat.size);
        return inMemory(name, toNetascii(content), 'cache');
      }
      if (this.cache.fits(stat.size)) {
        const content = await this.cache.get(real, stamp, stat.size, handle);
        return inMemory(name, content, 'cache');
      }
      keepHandle = true;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        handle.close().catch(() => undefined);
      };
      return { ok: true, name, origin: 'disk', content: null, fd: handle.fd, size: stat.size, release };
    } catch (error) {
      return fsRefusal(error);
    } finally {
      if (!keepHandle) handle.close().catch(() => undefined);
    }
  }
}

function fsRefusal(error: unknown): Refusal {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return refuse(ErrorCode.FileNotFound, 'not-found', 'File not found');
    case 'ELOOP':
      return refuse(ErrorCode.AccessViolation, 'outside-root', 'Access violation');
    case 'EACCES':
    case 'EPERM':
      return refuse(ErrorCode.AccessViolation, 'unreadable', 'Access violation');
    default:
      return refuse(ErrorCode.NotDefined, 'unreadable', 'Cannot read file');
  }
}

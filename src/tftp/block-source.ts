/**
 * The bytes of one transfer, as the transfer loop reads them: whole content
 * in memory (shared, never written) or a file streamed by descriptor. Kept
 * apart from files.ts so transfer worker threads load only this.
 */
import { read as fsRead } from 'node:fs';

/** Disk read size for files streamed rather than cached (at least one window is read at a time). */
export const STREAM_CHUNK_BYTES = 256 * 1024;

/**
 * The bytes of one transfer. In-memory content is shared and never written;
 * streamed files read a chunk (at least one window) at a time.
 */
export interface BlockSource {
  readonly size: number;
  /** Copies [offset, offset+length) into `target`; false when that range is not loaded (await `load(offset)`). */
  copyOut(offset: number, length: number, target: Buffer, targetOffset: number): boolean;
  /** Makes [offset, offset + span) available, `span` at least the window in bytes. */
  load(offset: number, span: number): Promise<void>;
}

class MemorySource implements BlockSource {
  constructor(private readonly content: Buffer) {}

  get size(): number {
    return this.content.length;
  }

  copyOut(offset: number, length: number, target: Buffer, targetOffset: number): boolean {
    this.content.copy(target, targetOffset, offset, offset + length);
    return true;
  }

  load(): Promise<void> {
    return Promise.resolve();
  }
}

function readAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fsRead(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

/** Reads by file descriptor, so a worker thread can stream a file the main thread opened and checked. */
class StreamSource implements BlockSource {
  private chunk: Buffer = Buffer.alloc(0);
  private chunkStart = 0;
  private chunkLength = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  copyOut(offset: number, length: number, target: Buffer, targetOffset: number): boolean {
    if (offset < this.chunkStart || offset + length > this.chunkStart + this.chunkLength) return false;
    const from = offset - this.chunkStart;
    this.chunk.copy(target, targetOffset, from, from + length);
    return true;
  }

  async load(offset: number, span: number): Promise<void> {
    const want = Math.max(STREAM_CHUNK_BYTES, span);
    if (this.chunk.length < want) this.chunk = Buffer.allocUnsafe(want);
    const length = Math.min(want, this.size - offset);
    let filled = 0;
    while (filled < length) {
      const bytesRead = await readAt(this.fd, this.chunk, filled, length - filled, offset + filled);
      if (bytesRead === 0) break; // truncated underneath us: the short read ends the transfer early
      filled += bytesRead;
    }
    this.chunkStart = offset;
    this.chunkLength = filled;
  }
}

/** What a transfer needs to read its file, on whichever thread runs it. */
export interface SourceSpec {
  /** Whole content (shared memory when cached), or null to stream from `fd`. */
  content: Buffer | null;
  fd: number | null;
  size: number;
}

export function blockSourceFor(spec: SourceSpec): BlockSource {
  if (spec.content !== null) return new MemorySource(spec.content);
  if (spec.fd === null) throw new Error('a source needs content or a file descriptor');
  return new StreamSource(spec.fd, spec.size);
}

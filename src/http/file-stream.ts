/**
 * The byte pump for file downloads. Node has no sendfile, so every byte is
 * read() into user space and written to the socket; this keeps that path as
 * cheap as it gets (bench/http.mjs, server CPU per GB):
 * - two large buffers per download, taken from a small shared pool and
 *   reused, instead of a fresh Buffer per chunk (fs.createReadStream: with
 *   256 KiB chunks each one was an mmap, page faults on every page and an
 *   munmap, per 256 KiB sent);
 * - the next read runs while the previous chunk is being written, and a
 *   buffer is read into again only after the socket's write callback said the
 *   kernel has its bytes: at most one chunk waits in user space per download,
 *   whatever the client's speed (flat memory with 50 clients);
 * - no stream machinery per chunk, and progress is one field write.
 *
 * A client that vanishes ends the pump at its next step: the file is closed
 * once no read is in flight (closing earlier could let the thread pool read
 * into a reused descriptor), and buffers still in flight are left to the GC
 * rather than returned to the pool while the kernel may still hold them.
 */
import { close, read } from 'node:fs';
import type { ServerResponse } from 'node:http';

/**
 * Bytes per read and per socket write. 512 KiB: against 256 KiB it cut server
 * CPU per GB by about a fifth for one client (0.40 → 0.29 s/GB), 1 MiB bought
 * nothing more; 64 KiB (the fs default) cost twice the CPU.
 */
export const FILE_CHUNK_BYTES = 512 * 1024;

/**
 * Buffers kept for reuse (16 MiB). Buffers are taken per chunk and given back
 * after the write, so this covers every chunk in flight for 32 downloads;
 * beyond that the extra buffers are transient. Kept rather than freed because
 * malloc'd 512 KiB blocks freed and allocated again in a burst fragment the
 * heap and RSS ratchets up run after run (bench: 135 → 175 MiB over two
 * rounds of 50 clients with one buffer pair per download).
 */
export const POOL_BUFFERS_MAX = 32;

/**
 * Up to this many concurrent downloads, each reads its next chunk while the
 * last one is written (one client: the disk and the socket overlap). With more,
 * the downloads overlap each other and a second buffer each would only double
 * the memory.
 */
export const READ_AHEAD_MAX_DOWNLOADS = 8;

const pool: Buffer[] = [];
let activeDownloads = 0;

/**
 * A chunk buffer, from the pool, also for a small file's only read: an
 * exact-size buffer per small download is a malloc of a few hundred KiB and a
 * free at the next GC, and that churn left the allocator's heap fragmented
 * (glibc raises its mmap threshold after the first such free, and later ones
 * come from the brk heap, which only shrinks from the top).
 */
function takeBuffer(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(FILE_CHUNK_BYTES);
}

function giveBack(buffer: Buffer): void {
  if (pool.length < POOL_BUFFERS_MAX) pool.push(buffer);
}

/** Buffers idle in the pool, and downloads being pumped (tests: a download returns what it took). */
export function fileStreamStats(): { pooledBuffers: number; activeDownloads: number } {
  return { pooledBuffers: pool.length, activeDownloads };
}

export interface StreamProgress {
  /** File bytes the kernel has accepted for this download so far. */
  sent: number;
}

export type StreamOutcome = 'complete' | 'aborted' | 'read-error';

/**
 * Writes `length` bytes of `fd` from `start` to `res`, whose status and
 * headers are set but not sent, then ends it. Always closes `fd`. Resolves
 * with how it ended; never rejects.
 */
export function streamFile(res: ServerResponse, fd: number, start: number, length: number, progress: StreamProgress): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    let position = start;
    let toRead = length;
    let toWrite = length;
    /** The buffer the thread pool is reading into, the one the socket is writing, the one read and waiting. */
    let reading: Buffer | null = null;
    let writing: Buffer | null = null;
    let ready: { buffer: Buffer; bytes: number } | null = null;
    let outcome: StreamOutcome | null = null;
    let fdClosed = false;

    const closeFd = (): void => {
      if (fdClosed || reading !== null) return;
      fdClosed = true;
      close(fd, () => undefined);
    };

    const end = (how: StreamOutcome): void => {
      if (outcome !== null) return;
      outcome = how;
      activeDownloads--;
      res.off('close', onClose);
      closeFd();
      // Buffers still being read or written go back from their callbacks, once the kernel is done with them.
      if (ready !== null) giveBack(ready.buffer);
      ready = null;
      if (how === 'read-error') res.destroy();
      resolve(how);
    };

    const onClose = (): void => {
      // 'close' before our end(): the client went away (or the server cut the connection).
      end('aborted');
    };

    const startRead = (): void => {
      if (outcome !== null || reading !== null || ready !== null || toRead === 0) return;
      if (writing !== null && activeDownloads > READ_AHEAD_MAX_DOWNLOADS) return;
      const buffer = takeBuffer();
      reading = buffer;
      read(fd, buffer, 0, Math.min(buffer.length, toRead), position, (error, bytes) => {
        reading = null;
        if (outcome !== null) {
          giveBack(buffer);
          closeFd(); // it waited for this read
          return;
        }
        // 0 bytes before the end: the file was truncated under us; the promised Content-Length cannot be kept.
        if (error !== null || bytes === 0) {
          giveBack(buffer);
          return end('read-error');
        }
        position += bytes;
        toRead -= bytes;
        ready = { buffer, bytes };
        startWrite();
      });
    };

    const startWrite = (): void => {
      if (outcome !== null || writing !== null || ready === null) return;
      const { buffer, bytes } = ready;
      ready = null;
      writing = buffer;
      res.write(bytes === buffer.length ? buffer : buffer.subarray(0, bytes), (error) => {
        writing = null;
        giveBack(buffer);
        if (outcome !== null) return;
        if (error) return end('aborted');
        progress.sent += bytes;
        toWrite -= bytes;
        if (toWrite === 0) {
          res.end();
          return end('complete');
        }
        startWrite();
        startRead();
      });
      startRead();
    };

    activeDownloads++;
    // Gone while the caller looked at the disk (the response, or already its socket): nothing to pump.
    if (res.destroyed || res.socket?.destroyed === true) {
      end('aborted');
      return;
    }
    res.once('close', onClose);
    if (length === 0) {
      res.end();
      end('complete');
      return;
    }
    startRead();
  });
}

/**
 * Lease persistence: an append-only journal (JSON Lines, one record per
 * lease change) with group commit, compacted on start.
 *
 * Group commit: records appended while the event loop is busy go out in one
 * durable write (O_DSYNC, else write + fdatasync), and every ACK they belong
 * to waits for it.
 * ISC dhcpd pays one fsync per lease; here one fsync covers every lease
 * decided in that moment, and the DISCOVER/OFFER path never touches the disk.
 *
 * Compaction (on start, and when the journal has grown well past the live
 * leases) writes the live records as a fresh file with writeFileAtomic (temp
 * file, fsync, rename, directory fsync), so a crash leaves the old journal or
 * the new one, never a mix.
 *
 * A damaged journal (torn last line after a power cut, foreign bytes) never
 * stops netboot: complete records are kept, each skipped line is reported
 * with its position, and a copy of the damaged file is kept beside it.
 */
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { STATE_FILE_MODE, writeFileAtomic } from '../../state/atomic-file.js';
import { formatLeaseRecord, replayJournal, type LeaseRecord, type SkippedLine } from './lease-record.js';

/**
 * Appends are opened O_DSYNC where the platform has it: each write returns
 * once its data (and the file size) is on disk, like write + fdatasync, in
 * one trip to the thread pool instead of two.
 */
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_DSYNC ?? 0);
const WRITE_IS_DURABLE = constants.O_DSYNC !== undefined;

/** Compact at run time once the journal holds this many lines more than there are live leases. */
export const JOURNAL_COMPACT_SLACK_LINES = 20_000;

export interface OpenedJournal {
  journal: LeaseJournal;
  records: LeaseRecord[];
  skipped: SkippedLine[];
  /** Where the damaged file was copied, when lines were skipped. */
  damagedCopy: string | null;
}

export class LeaseJournal {
  private pending: string[] = [];
  private waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private scheduled = false;
  private flushing: Promise<void> | null = null;
  private linesInFile: number;
  /** A failed write may have left half a line: start the next write on a fresh line. */
  private needsNewline = false;
  private closed = false;
  /** Durable writes (O_DSYNC write, or write + fdatasync) so far; the group-commit test checks appends share them. */
  syncCount = 0;

  private constructor(
    readonly path: string,
    private handle: FileHandle,
    liveLines: number,
    /** The live records, for run-time compaction (called only when compacting). */
    private readonly snapshot: () => LeaseRecord[],
    /** How many live records there are (cheap; checked at every flush). */
    private readonly liveCount: () => number,
    private readonly compactSlackLines: number,
  ) {
    this.linesInFile = liveLines;
  }

  /** Reads and compacts the journal at `path` (creating its folder), then opens it for appending. */
  static async open(
    path: string,
    snapshot: () => LeaseRecord[],
    now = Date.now(),
    liveCount: () => number = () => snapshot().length,
    compactSlackLines = JOURNAL_COMPACT_SLACK_LINES,
  ): Promise<OpenedJournal> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const { records, skipped } = replayJournal(text);
    let damagedCopy: string | null = null;
    if (skipped.length > 0) {
      damagedCopy = `${path}.damaged-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
      await copyFile(path, damagedCopy);
    }
    const live = [...records.values()];
    await writeFileAtomic(path, live.map(formatLeaseRecord).join(''));
    const handle = await open(path, APPEND_FLAGS, STATE_FILE_MODE);
    return { journal: new LeaseJournal(path, handle, live.length, snapshot, liveCount, compactSlackLines), records: live, skipped, damagedCopy };
  }

  /** Resolves once the record is on disk (fdatasync done); rejects if it could not be written. */
  append(record: LeaseRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error('lease journal is closed'));
    this.pending.push(formatLeaseRecord(record));
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing !== null) return;
    this.scheduled = true;
    // setImmediate: let every packet already queued on the socket be decided first, so they share this sync.
    setImmediate(() => {
      this.scheduled = false;
      void this.flushBatch();
    });
  }

  private async flushBatch(): Promise<void> {
    if (this.pending.length === 0) return;
    const lines = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    const run = async (): Promise<void> => {
      if (this.linesInFile > this.liveCount() + this.compactSlackLines) {
        // The snapshot already holds these records' effects (the table changed before append).
        await this.compact();
        return;
      }
      const data = Buffer.from((this.needsNewline ? '\n' : '') + lines.join(''));
      this.needsNewline = true;
      // A regular file takes the whole write unless the disk fills; finish a short write all the same.
      for (let written = 0; written < data.length;) {
        const { bytesWritten } = await this.handle.write(data, written, data.length - written);
        if (bytesWritten <= 0) throw new Error(`lease journal write made no progress (${written} of ${data.length} bytes)`);
        written += bytesWritten;
      }
      if (!WRITE_IS_DURABLE) await this.handle.datasync();
      this.syncCount += 1;
      this.needsNewline = false;
      this.linesInFile += lines.length;
    };
    this.flushing = run();
    try {
      await this.flushing;
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error as Error);
    } finally {
      this.flushing = null;
      if (this.pending.length > 0) this.schedule();
    }
  }

  private async compact(): Promise<void> {
    const live = this.snapshot();
    await writeFileAtomic(this.path, live.map(formatLeaseRecord).join(''));
    const previous = this.handle;
    this.handle = await open(this.path, APPEND_FLAGS, STATE_FILE_MODE);
    this.linesInFile = live.length;
    this.needsNewline = false;
    await previous.close().catch(() => undefined);
  }

  /** Waits until everything appended so far is on disk (or failed). */
  async flush(): Promise<void> {
    while (this.flushing !== null || this.pending.length > 0 || this.scheduled) {
      if (this.flushing !== null) await this.flushing.catch(() => undefined);
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.handle.close().catch(() => undefined);
  }
}

/**
 * Lease persistence: an append-only journal (JSON Lines, one record per
 * lease change) with group commit, compacted on start.
 *
 * Group commit: records appended while the event loop is busy go out in one
 * durable write (O_DSYNC, else write + fdatasync), and every ACK they belong
 * to waits for it.
 * ISC dhcpd pays one fsync per lease; here one fsync covers every lease
 * decided in that moment, and the DISCOVER/OFFER path never touches the disk.
 * Under load (records were waiting when the last write finished) the next
 * write starts no sooner than JOURNAL_COMMIT_INTERVAL_MS after the last one
 * began, so a fast disk is not asked for thousands of tiny syncs a second
 * (each costs a thread-pool trip and, in a VM, exits to the hypervisor); an
 * isolated ACK is still written at once.
 *
 * Compaction (on start, and when the journal has grown well past the live
 * leases) writes the live records as a fresh file with writeFileAtomic (temp
 * file, fsync, rename, directory fsync), so a crash leaves the old journal or
 * the new one, never a mix.
 *
 * A damaged journal (torn last line after a power cut, foreign bytes) never
 * stops netboot: complete records are kept, each skipped line is reported
 * with its position, and a copy of the damaged file is kept beside it (when
 * the copy itself cannot be written, that is reported, never fatal).
 *
 * An unwritable state folder (read-only, full, no permission) never stops
 * netboot either: the journal opens *degraded* (the records it could read are
 * returned; every append fails until the file can be opened), and
 * `retryOpen()` (called on each flush and by the service's timer) rewrites
 * the live records and reopens it as soon as the folder is writable again.
 *
 * The journal also remembers, per MAC, the last record known to be on disk
 * (`durableLeaseOf`): with the disk full, the service may still ACK a renewal
 * for no longer than what is already on disk (docs/dhcp.md, "Disk full").
 */
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { removeStrayTempFiles, STATE_FILE_MODE, writeFileAtomic, type StrayTempFile } from '../../state/atomic-file.js';
import { formatLeaseRecord, replayJournal, type LeaseRecord, type SkippedLine } from './lease-record.js';

/**
 * Appends are opened O_DSYNC where the platform has it: each write returns
 * once its data (and the file size) is on disk, like write + fdatasync, in
 * one trip to the thread pool instead of two.
 */
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_DSYNC ?? 0);
const WRITE_IS_DURABLE = constants.O_DSYNC !== undefined;

/**
 * Under load, durable writes start at least this far apart (ms). Measured on a
 * virtio disk (bench/dhcp.mjs): syncs took ~0.3 ms, so without a floor a
 * 4,000 DORA/s load made ~1,600 syncs a second of 2-3 records each, and the
 * sync path took a quarter of netboot's CPU. 2 ms caps that at 500 a second
 * for at most 2 ms more ACK delay under load.
 */
export const JOURNAL_COMMIT_INTERVAL_MS = 2;

/** Compact at run time once the journal holds this many lines more than there are live leases. */
export const JOURNAL_COMPACT_SLACK_LINES = 20_000;

export interface OpenedJournal {
  journal: LeaseJournal;
  records: LeaseRecord[];
  skipped: SkippedLine[];
  /** Where the damaged file was copied, when lines were skipped. */
  damagedCopy: string | null;
  /** Why the damaged copy could not be made (the start goes on without it). */
  damagedCopyError: Error | null;
  /** Why the file could not be read (not ENOENT): nothing was loaded; the journal stays degraded until it can be. */
  readError: Error | null;
  /** Why the file could not be rewritten and opened for appending: the journal is degraded (see `LeaseJournal.degraded`). */
  writeError: Error | null;
  /** Temp files a crash left from an interrupted atomic write (`.leases.json.tmp-*`), removed at open. */
  strayTempFiles: StrayTempFile[];
}

/** What is on disk for one MAC: its last durably written record. */
export interface DurableLease {
  ip: number;
  state: LeaseRecord['state'];
  expiresAt: number;
}

export interface JournalOptions {
  /**
   * Records read late: the file could not be read at open (EACCES, EIO) and
   * was read on a later retry. Called before the live records are rewritten,
   * so the caller can load them into its table (and thus into the snapshot).
   */
  adoptRecords?: (records: LeaseRecord[]) => void;
}

/** One batch's outcome, shared by every record in it (one promise per write, not per record). */
interface BatchOutcome {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

function batchOutcome(): BatchOutcome {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

export class LeaseJournal {
  private pending: string[] = [];
  private outcome: BatchOutcome | null = null;
  private scheduled = false;
  /** performance.now() when the last durable write began (for the commit interval). */
  private lastWriteStartedAt = -Infinity;
  private flushing: Promise<void> | null = null;
  private linesInFile: number;
  /** A failed write may have left half a line: start the next write on a fresh line. */
  private needsNewline = false;
  private closed = false;
  /** Durable writes (O_DSYNC write, or write + fdatasync) so far; the group-commit test checks appends share them. */
  syncCount = 0;

  /** The records behind `pending`'s lines: their lines are formatted at append (a snapshot), the objects kept for rememberDurable. */
  private pendingRecords: LeaseRecord[] = [];
  private readonly durable = new Map<string, DurableLease>();
  /** Set while the file cannot be opened for appending (start on a read-only or full folder). */
  private openError: Error | null = null;
  /** The file could not even be read at open: read it before rewriting anything. */
  private unread = false;
  /** A damaged file whose copy could not be made yet: try again before rewriting it. */
  private damagedCopyPending: string | null = null;
  private readonly options: JournalOptions;

  private constructor(
    readonly path: string,
    private handle: FileHandle | null,
    liveLines: number,
    /** The live records, for run-time compaction (called only when compacting). */
    private readonly snapshot: () => LeaseRecord[],
    /** How many live records there are (cheap; checked at every flush). */
    private readonly liveCount: () => number,
    private readonly compactSlackLines: number,
    options: JournalOptions,
  ) {
    this.linesInFile = liveLines;
    this.options = options;
  }

  /** Why the journal cannot be written, while it is degraded (null when it is open). */
  get degraded(): Error | null {
    return this.openError;
  }

  /** The last record for `mac` known to be on disk, or null. */
  durableLeaseOf(mac: string): DurableLease | null {
    return this.durable.get(mac) ?? null;
  }

  private rememberDurable(records: readonly LeaseRecord[], replaceAll: boolean): void {
    if (replaceAll) this.durable.clear();
    for (const record of records) {
      if (record.state === 'declined') this.durable.delete(record.mac);
      else this.durable.set(record.mac, { ip: record.ip, state: record.state, expiresAt: record.expiresAt });
    }
  }

  /**
   * Reads and compacts the journal at `path` (creating its folder), then
   * opens it for appending. Never rejects for the file or folder: what could
   * not be done is in the result, and the journal is then degraded.
   */
  static async open(
    path: string,
    snapshot: () => LeaseRecord[],
    now = Date.now(),
    liveCount: () => number = () => snapshot().length,
    compactSlackLines = JOURNAL_COMPACT_SLACK_LINES,
    options: JournalOptions = {},
  ): Promise<OpenedJournal> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch(() => undefined);
    const strayTempFiles = await removeStrayTempFiles(path);
    let text = '';
    let readError: Error | null = null;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') readError = error as Error;
    }
    const { records, skipped } = replayJournal(text);
    const live = [...records.values()];
    const journal = new LeaseJournal(path, null, live.length, snapshot, liveCount, compactSlackLines, options);
    journal.unread = readError !== null;
    if (readError === null) journal.rememberDurable(live, true);
    let damagedCopy: string | null = null;
    let damagedCopyError: Error | null = null;
    if (skipped.length > 0) {
      // Kept even for a torn last line: the skipped bytes are evidence an admin may want, and the copy is cheap.
      damagedCopy = `${path}.damaged-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
      try {
        await copyFile(path, damagedCopy);
      } catch (error) {
        damagedCopyError = error as Error;
        journal.damagedCopyPending = damagedCopy;
        damagedCopy = null;
      }
    }
    let writeError: Error | null = readError;
    if (readError === null) {
      try {
        await journal.rewrite(live);
      } catch (error) {
        writeError = error as Error;
      }
    }
    journal.openError = writeError;
    return { journal, records: live, skipped, damagedCopy, damagedCopyError, readError, writeError, strayTempFiles };
  }

  /** Writes `live` as the whole file (atomically) and opens it for appending. */
  private async rewrite(live: LeaseRecord[]): Promise<void> {
    if (this.damagedCopyPending !== null) {
      // The damaged file is about to be replaced: one more try at keeping its copy (not fatal either).
      await copyFile(this.path, this.damagedCopyPending).then(() => { this.damagedCopyPending = null; }, () => undefined);
    }
    if (this.handle === null) await mkdir(dirname(this.path), { recursive: true, mode: 0o700 }).catch(() => undefined);
    await writeFileAtomic(this.path, live.map(formatLeaseRecord).join(''));
    const previous = this.handle;
    try {
      this.handle = await open(this.path, APPEND_FLAGS, STATE_FILE_MODE);
    } catch (error) {
      // The old handle points at the file just replaced: appending there would be lost. Degraded until reopened.
      this.handle = null;
      this.openError = error as Error;
      await previous?.close().catch(() => undefined);
      throw error;
    }
    this.linesInFile = live.length;
    this.needsNewline = false;
    this.rememberDurable(live, true);
    this.openError = null;
    if (previous !== null) await previous.close().catch(() => undefined);
  }

  /**
   * While degraded: tries again to read (if that failed), rewrite and open the
   * file. Resolves true once the journal is open (at once if it was).
   */
  async retryOpen(): Promise<boolean> {
    if (this.openError === null) return true;
    if (this.flushing !== null) {
      await this.flushing.catch(() => undefined);
      if (this.openError === null) return true;
    }
    const run = this.reopen();
    this.flushing = run;
    try {
      await run;
      return true;
    } catch {
      return false;
    } finally {
      if (this.flushing === run) this.flushing = null;
      if (this.pending.length > 0) this.schedule(false);
    }
  }

  private async reopen(): Promise<void> {
    try {
      if (this.unread) {
        const text = await readFile(this.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return '';
          throw error;
        });
        const { records } = replayJournal(text);
        this.unread = false;
        this.options.adoptRecords?.([...records.values()]);
      }
      // The snapshot holds the effect of every record appended so far (the table changes before append).
      await this.rewrite(this.snapshot());
    } catch (error) {
      this.openError = error as Error;
      throw error;
    }
  }

  /**
   * Resolves once the record is on disk (fdatasync done); rejects if it could
   * not be written. Records of one batch share one promise.
   */
  append(record: LeaseRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error('lease journal is closed'));
    this.pending.push(formatLeaseRecord(record));
    this.pendingRecords.push(record);
    const outcome = this.outcome ?? (this.outcome = batchOutcome());
    this.schedule(false);
    return outcome.promise;
  }

  /** `underLoad`: records were already waiting when the last write finished (see JOURNAL_COMMIT_INTERVAL_MS). */
  private schedule(underLoad: boolean): void {
    if (this.scheduled || this.flushing !== null) return;
    this.scheduled = true;
    const run = (): void => {
      this.scheduled = false;
      void this.flushBatch();
    };
    const waitMs = underLoad ? this.lastWriteStartedAt + JOURNAL_COMMIT_INTERVAL_MS - performance.now() : 0;
    // setImmediate: let every packet already queued on the socket be decided first, so they share this sync.
    if (waitMs >= 1) setTimeout(run, waitMs);
    else setImmediate(run);
  }

  private async flushBatch(): Promise<void> {
    // A reopen by retryOpen() is running: it reschedules this batch when it ends (one writer at a time).
    if (this.pending.length === 0 || this.flushing !== null) return;
    const lines = this.pending;
    const records = this.pendingRecords;
    const outcome = this.outcome;
    this.pending = [];
    this.pendingRecords = [];
    this.outcome = null;
    this.lastWriteStartedAt = performance.now();
    const run = async (): Promise<void> => {
      if (this.openError !== null || this.handle === null) {
        // Degraded (the folder was unwritable at open): a successful reopen writes the snapshot, which holds these records.
        await this.reopen();
        return;
      }
      if (this.linesInFile > this.liveCount() + this.compactSlackLines) {
        // The snapshot already holds these records' effects (the table changed before append).
        await this.compact();
        return;
      }
      const handle = this.handle;
      const data = Buffer.from((this.needsNewline ? '\n' : '') + lines.join(''));
      this.needsNewline = true;
      // A regular file takes the whole write unless the disk fills; finish a short write all the same.
      for (let written = 0; written < data.length;) {
        const { bytesWritten } = await handle.write(data, written, data.length - written);
        if (bytesWritten <= 0) throw new Error(`lease journal write made no progress (${written} of ${data.length} bytes)`);
        written += bytesWritten;
      }
      if (!WRITE_IS_DURABLE) await handle.datasync();
      this.syncCount += 1;
      this.needsNewline = false;
      this.linesInFile += lines.length;
      this.rememberDurable(records, false);
    };
    const running = run();
    this.flushing = running;
    try {
      await running;
      outcome?.resolve();
    } catch (error) {
      outcome?.reject(error as Error);
    } finally {
      if (this.flushing === running) this.flushing = null;
      if (this.pending.length > 0) this.schedule(true);
    }
  }

  private async compact(): Promise<void> {
    await this.rewrite(this.snapshot());
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
    await this.handle?.close().catch(() => undefined);
  }
}

/**
 * Boot-once state: which hosts with `once: true` have finished their install
 * (the installer called back) and so boot locally until an admin re-arms
 * them. Kept in memory, persisted atomically beside the leases.
 */
import { copyFileSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NetbootError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { isStrayTempFile, writeFileAtomic } from './atomic-file.js';

export const BOOT_ONCE_FILE_NAME = 'boot-once.json';

/** The state folder holds leases and boot state: owner-only, like the files in it. */
const STATE_DIR_MODE = 0o700;

export interface BootOnceRecord {
  host: string;
  /** done: the install finished; the host boots locally until re-armed. */
  state: 'done';
  doneAt: number;
}

export interface BootOnceStore {
  isDone(hostName: string): boolean;
  /** Persists before resolving; rejects (NETBOOT_ERR_STATE_WRITE) when the state cannot be written, and then nothing changed. */
  markDone(hostName: string): Promise<void>;
  rearm(hostName: string): Promise<void>;
  list(): BootOnceRecord[];
}

interface FileShape {
  version: 1;
  hosts: Record<string, { doneAt: number }>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class FileBootOnceStore implements BootOnceStore {
  private readonly done = new Map<string, number>();
  /** Writes are serialised so two callbacks cannot race a stale snapshot over a newer one. */
  private writing: Promise<void> = Promise.resolve();
  readonly path: string;

  constructor(private readonly stateDir: string, private readonly log: Logger) {
    this.path = join(stateDir, BOOT_ONCE_FILE_NAME);
    this.removeStrayTempFiles();
    this.load();
  }

  /** A crash between writing the temp file and renaming it leaves `.boot-once.json.tmp-*` behind; the real file is intact. */
  private removeStrayTempFiles(): void {
    let names: string[];
    try {
      names = readdirSync(this.stateDir);
    } catch {
      return; // no folder yet: created on the first write
    }
    for (const name of names) {
      if (!isStrayTempFile(name, BOOT_ONCE_FILE_NAME)) continue;
      try { unlinkSync(join(this.stateDir, name)); } catch { /* not ours to fight over */ }
    }
  }

  private load(): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.error({ code: 'NETBOOT_ERR_STATE_CORRUPT', file: this.path, err: error }, 'boot-once state file cannot be read; starting with every host armed');
      }
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      this.keepDamagedCopy(`not JSON: ${(error as Error).message}`);
      return;
    }
    if (!isPlainObject(parsed) || !isPlainObject(parsed.hosts)) {
      this.keepDamagedCopy('no "hosts" object');
      return;
    }
    // Complete records are kept; a record that lost its timestamp is dropped
    // (that host is armed again, the safe side: it reinstalls only if it netboots).
    const dropped: string[] = [];
    for (const [host, record] of Object.entries(parsed.hosts)) {
      if (isPlainObject(record) && typeof record.doneAt === 'number' && Number.isFinite(record.doneAt)) this.done.set(host, record.doneAt);
      else dropped.push(host);
    }
    if (dropped.length > 0) this.keepDamagedCopy(`incomplete records for ${dropped.join(', ')} (those hosts are armed again)`);
  }

  private keepDamagedCopy(reason: string): void {
    const copy = `${this.path}.damaged-${Date.now()}`;
    try { copyFileSync(this.path, copy); } catch { /* best effort: the log line still says what happened */ }
    this.log.error(
      { code: 'NETBOOT_ERR_STATE_CORRUPT', file: this.path, copy, reason, keptHosts: this.done.size },
      'boot-once state file is damaged; complete records kept, a copy of the damaged file saved',
    );
  }

  isDone(hostName: string): boolean {
    return this.done.has(hostName);
  }

  doneAt(hostName: string): number | null {
    return this.done.get(hostName) ?? null;
  }

  list(): BootOnceRecord[] {
    return [...this.done].map(([host, doneAt]) => ({ host, state: 'done', doneAt }));
  }

  markDone(hostName: string): Promise<void> {
    const previous = this.done.get(hostName);
    return this.change(
      () => this.done.set(hostName, Date.now()),
      () => (previous === undefined ? this.done.delete(hostName) : this.done.set(hostName, previous)),
    );
  }

  rearm(hostName: string): Promise<void> {
    const previous = this.done.get(hostName);
    return this.change(() => this.done.delete(hostName), () => previous !== undefined && this.done.set(hostName, previous));
  }

  private change(apply: () => void, undo: () => void): Promise<void> {
    const run = async () => {
      apply();
      try {
        await mkdir(this.stateDir, { recursive: true, mode: STATE_DIR_MODE });
        await writeFileAtomic(this.path, this.serialise());
      } catch (error) {
        undo();
        const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        throw new NetbootError('NETBOOT_ERR_STATE_WRITE', `cannot write boot-once state ${this.path}: ${reason} (check that the state folder exists, is writable by netboot and the disk is not full)`, { cause: error });
      }
    };
    const result = this.writing.then(run, run);
    this.writing = result.catch(() => undefined);
    return result;
  }

  private serialise(): string {
    const shape: FileShape = { version: 1, hosts: Object.fromEntries([...this.done].map(([host, doneAt]) => [host, { doneAt }])) };
    return `${JSON.stringify(shape, null, 2)}\n`;
  }
}

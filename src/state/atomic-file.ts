/**
 * Writes a state file so that a crash at any moment leaves either the old or
 * the new contents, never a mix: write a temp file beside it, fsync it,
 * rename over the old one, fsync the folder (the rename itself must reach the
 * disk before we say the state is saved).
 */
import { closeSync, constants, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** State files hold leases and tokens' effects: owner-only. */
export const STATE_FILE_MODE = 0o600;

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}`);
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = tempName(path);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, STATE_FILE_MODE);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(path));
}

/** The same, synchronously: for shutdown paths where the event loop is about to stop. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const temp = tempName(path);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, STATE_FILE_MODE);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    try { unlinkSync(temp); } catch { /* already gone */ }
    throw error;
  }
  closeSync(fd);
  renameSync(temp, path);
  const dirFd = openSync(dirname(path), 'r');
  try { fsyncSync(dirFd); } finally { closeSync(dirFd); }
}

export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Temp files a crash left behind (`.<name>.tmp-*`), to clean up on start. */
export function isStrayTempFile(fileName: string, stateFileName: string): boolean {
  return fileName.startsWith(`.${stateFileName}.tmp-`);
}

export interface StrayTempFile {
  name: string;
  removed: boolean;
  /** Why it could not be removed (read-only folder): reported, never fatal. */
  error: string | null;
}

/**
 * Removes the temp files a crash left beside `path` (`.<name>.tmp-*`: an
 * atomic write interrupted before its rename; the real file is intact). Call
 * at start, before this process writes `path`. Never rejects.
 */
export async function removeStrayTempFiles(path: string): Promise<StrayTempFile[]> {
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return [];
  }
  const stray = names.filter((name) => isStrayTempFile(name, basename(path)));
  return Promise.all(stray.map(async (name) => {
    try {
      await unlink(join(dirname(path), name));
      return { name, removed: true, error: null };
    } catch (error) {
      return { name, removed: false, error: (error as Error).message };
    }
  }));
}

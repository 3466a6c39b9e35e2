/**
 * Read-only view of the boot-once state for `netboot explain`. Not the
 * FileBootOnceStore: that one tidies the state folder when constructed, which
 * a command that only looks must never do beside a running server.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOOT_ONCE_FILE_NAME } from '../state/boot-once-store.js';

/** Names of hosts whose boot-once install is recorded as done; empty when there is no (readable) state. */
export function readBootOnceDone(stateDir: string): Set<string> {
  try {
    const parsed = JSON.parse(readFileSync(join(stateDir, BOOT_ONCE_FILE_NAME), 'utf8')) as { hosts?: Record<string, { doneAt?: unknown }> };
    const hosts = parsed.hosts !== null && typeof parsed.hosts === 'object' ? parsed.hosts : {};
    return new Set(Object.entries(hosts).filter(([, record]) => typeof record?.doneAt === 'number').map(([name]) => name));
  } catch {
    return new Set();
  }
}

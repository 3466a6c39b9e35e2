/**
 * Reads a lease file without a running server (`netboot leases --config
 * FILE`). Read-only: a damaged file is read as far as it is readable and
 * left as it is (the server keeps a copy of it when it starts).
 */
import { readFileSync } from 'node:fs';
import { formatIpv4 } from '../../net/ipv4.js';
import type { LeaseInfo } from '../../runtime/lease-view.js';
import { replayJournal, type LeaseRecord, type SkippedLine } from './lease-record.js';

export function leaseInfoOf(record: LeaseRecord, now: number): LeaseInfo {
  const state: LeaseInfo['state'] = record.state === 'bound' && record.expiresAt <= now ? 'expired' : record.state;
  return {
    mac: record.mac,
    ip: formatIpv4(record.ip),
    hostName: record.hostName,
    state,
    expiresAt: record.expiresAt,
    reserved: record.reserved,
    firmware: record.firmware,
    lastSeenAt: record.lastSeenAt,
  };
}

/** Leases in the file, ordered by address; [] when the file does not exist yet. */
export function readLeases(leaseFile: string, now = Date.now()): LeaseInfo[] {
  return readLeasesWithReport(leaseFile, now).leases;
}

/** The same, with the lines that had to be skipped (for a warning in the CLI). */
export function readLeasesWithReport(leaseFile: string, now = Date.now()): { leases: LeaseInfo[]; skipped: SkippedLine[] } {
  let text: string;
  try {
    text = readFileSync(leaseFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { leases: [], skipped: [] };
    throw error;
  }
  const { records, skipped } = replayJournal(text);
  const leases = [...records.values()].sort((a, b) => a.ip - b.ip).map((record) => leaseInfoOf(record, now));
  return { leases, skipped };
}

/**
 * One line of the lease journal (JSON Lines): the last line for a MAC is its
 * lease. Shared by the store (writing, loading at start) and read-leases.ts
 * (the CLI reading the file of a server that may be running).
 */
import { formatIpv4, parseIpv4 } from '../../net/ipv4.js';
import { parseMac } from '../../net/mac.js';

export type PersistedState = 'bound' | 'released' | 'declined';

export interface LeaseRecord {
  mac: string;
  ip: number;
  state: PersistedState;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  hostName: string | null;
  firmware: string | null;
  reserved: boolean;
  lastSeenAt: number;
}

/**
 * One JSON line, written out by hand (one line per ACK, on the hot path): the
 * same text JSON.stringify makes of the record's fields in this order. Only
 * the free-text fields need escaping; mac, ip and state are fixed-alphabet.
 */
export function formatLeaseRecord(record: LeaseRecord): string {
  return `{"mac":${JSON.stringify(record.mac)},"ip":"${formatIpv4(record.ip)}","state":"${record.state}","expiresAt":${jsonNumber(record.expiresAt)},`
    + `"hostName":${record.hostName === null ? 'null' : JSON.stringify(record.hostName)},"firmware":${record.firmware === null ? 'null' : JSON.stringify(record.firmware)},`
    + `"reserved":${record.reserved ? 'true' : 'false'},"lastSeenAt":${jsonNumber(record.lastSeenAt)}}\n`;
}

/** JSON's spelling of a number (a non-finite one is null, as in JSON.stringify). */
function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/** A record from one line, or a reason it is not one. */
export function parseLeaseRecord(line: string): LeaseRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not JSON (torn write or foreign data)';
  }
  if (typeof value !== 'object' || value === null) return 'not an object';
  const raw = value as Record<string, unknown>;
  const mac = typeof raw.mac === 'string' ? parseMac(raw.mac) : null;
  const ip = typeof raw.ip === 'string' ? parseIpv4(raw.ip) : null;
  if (mac === null) return 'no valid mac';
  if (ip === null) return 'no valid ip';
  if (raw.state !== 'bound' && raw.state !== 'released' && raw.state !== 'declined') return 'unknown state';
  if (typeof raw.expiresAt !== 'number' || !Number.isFinite(raw.expiresAt)) return 'no valid expiresAt';
  return {
    mac,
    ip,
    state: raw.state,
    expiresAt: raw.expiresAt,
    hostName: typeof raw.hostName === 'string' ? raw.hostName : null,
    firmware: typeof raw.firmware === 'string' ? raw.firmware : null,
    reserved: raw.reserved === true,
    lastSeenAt: typeof raw.lastSeenAt === 'number' ? raw.lastSeenAt : raw.expiresAt,
  };
}

export interface SkippedLine {
  line: number;
  /** Byte offset of the line's start. */
  offset: number;
  reason: string;
}

/**
 * Replays a journal: the last record per MAC wins, and a later record for an
 * address takes it from whichever MAC held it before (the server evicted
 * that one). Damaged lines are skipped and reported, never fatal.
 */
export function replayJournal(text: string): { records: Map<string, LeaseRecord>; skipped: SkippedLine[] } {
  const records = new Map<string, LeaseRecord>();
  const holderOfIp = new Map<number, string>();
  const skipped: SkippedLine[] = [];
  let offset = 0;
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const start = offset;
    offset += Buffer.byteLength(line) + 1;
    if (line.trim() === '') return;
    const parsed = parseLeaseRecord(line);
    if (typeof parsed === 'string') {
      skipped.push({ line: index + 1, offset: start, reason: parsed });
      return;
    }
    const previous = records.get(parsed.mac);
    if (previous !== undefined && holderOfIp.get(previous.ip) === parsed.mac) holderOfIp.delete(previous.ip);
    if (parsed.state === 'declined') {
      records.delete(parsed.mac);
      return;
    }
    const otherHolder = holderOfIp.get(parsed.ip);
    if (otherHolder !== undefined && otherHolder !== parsed.mac) records.delete(otherHolder);
    records.set(parsed.mac, parsed);
    holderOfIp.set(parsed.ip, parsed.mac);
  });
  return { records, skipped };
}

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatLeaseRecord, replayJournal, type LeaseRecord } from '../../../src/dhcp/leases/lease-record.js';
import { LeaseTable } from '../../../src/dhcp/leases/lease-table.js';
import { AddressPool } from '../../../src/dhcp/leases/pool.js';
import { readLeases, readLeasesWithReport } from '../../../src/dhcp/leases/read-leases.js';
import { LeaseJournal } from '../../../src/dhcp/leases/store.js';
import { parseCidr } from '../../../src/net/ipv4.js';
import { ip } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'netboot-leases-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let fileCounter = 0;
const leaseFile = (): string => join(scratch, `case-${++fileCounter}`, 'leases.json');

const subnet = { cidr: parseCidr('10.5.0.0/24')!, pools: [{ first: ip('10.5.0.10'), last: ip('10.5.0.14') }, { first: ip('10.5.0.250'), last: ip('10.5.0.255') }], router: ip('10.5.0.1'), dns: [], domain: null };

const record = (mac: string, address: string, extra: Partial<LeaseRecord> = {}): LeaseRecord => ({
  mac, ip: ip(address), state: 'bound', expiresAt: 2_000_000_000_000, hostName: null, firmware: 'bios', reserved: false, lastSeenAt: 1_900_000_000_000, ...extra,
});

describe('AddressPool', () => {
  it('counts only handable addresses: broadcast, server and reservations excluded', () => {
    const pool = new AddressPool(subnet, [ip('10.5.0.12'), ip('10.5.0.251')]);
    expect(pool.size).toBe(5 - 1 + 6 - 2); // .255 is the broadcast
    expect(pool.contains(ip('10.5.0.12'))).toBe(false);
    expect(pool.contains(ip('10.5.0.255'))).toBe(false);
    expect(pool.contains(ip('10.5.0.13'))).toBe(true);
    expect(pool.inSubnet(ip('10.5.0.200'))).toBe(true);
  });

  it('allocates next-fit across ranges and reports exhaustion at once', () => {
    const pool = new AddressPool(subnet, [ip('10.5.0.12'), ip('10.5.0.251')]);
    const handed: number[] = [];
    for (;;) {
      const next = pool.nextFree();
      if (next === null) break;
      pool.markUsed(next);
      handed.push(next);
    }
    expect(handed.map((value) => value & 255)).toEqual([10, 11, 13, 14, 250, 252, 253, 254]);
    expect(pool.freeCount).toBe(0);
    pool.markFree(ip('10.5.0.11'));
    expect(pool.nextFree()).toBe(ip('10.5.0.11'));
  });
});

describe('LeaseTable', () => {
  it('lists leases with states, and persists bound and released ones but not bare offers', () => {
    const table = new LeaseTable([subnet], new Map(), [ip('10.5.0.2')]);
    const now = 1_000_000;
    table.offer('02:00:00:00:00:01', ip('10.5.0.10'), now, 30, { hostName: null, firmware: 'bios', reserved: false });
    table.bind('02:00:00:00:00:02', ip('10.5.0.11'), now, 3600, { hostName: 'b', firmware: 'os', reserved: false });
    table.bind('02:00:00:00:00:03', ip('10.5.0.13'), now, 3600, { hostName: null, firmware: 'os', reserved: false });
    table.release('02:00:00:00:00:03', now);
    expect(table.list(now).map((lease) => [lease.mac, lease.state])).toEqual([
      ['02:00:00:00:00:01', 'offered'], ['02:00:00:00:00:02', 'bound'], ['02:00:00:00:00:03', 'released'],
    ]);
    expect(table.records().map((entry) => entry.state)).toEqual(['bound', 'released']);
    expect(table.counts(now + 31_000)).toMatchObject({ offered: 0, bound: 1, released: 1, expired: 1 });
    table.sweep(now + 31_000);
    expect(table.leaseOf('02:00:00:00:00:01')).toBeNull();
  });

  it('a retried DISCOVER from a bound client keeps its bound lease underneath the offer', () => {
    const table = new LeaseTable([subnet], new Map(), []);
    table.bind('02:00:00:00:00:04', ip('10.5.0.10'), 0, 3600, { hostName: null, firmware: null, reserved: false });
    table.offer('02:00:00:00:00:04', ip('10.5.0.10'), 1000, 30, { hostName: null, firmware: null, reserved: false });
    expect(LeaseTable.recordOf(table.leaseOf('02:00:00:00:00:04')!)).toMatchObject({ state: 'bound', expiresAt: 3600_000 });
    expect(table.isAvailableFor('02:00:00:00:00:05', ip('10.5.0.10'), 100_000)).toBe(false);
  });
});

describe('lease journal', () => {
  it('replays: the last line per MAC wins, a later holder of an address evicts the earlier, declined drops it', () => {
    const text = [
      record('02:00:00:00:00:01', '10.5.0.10'),
      record('02:00:00:00:00:02', '10.5.0.11'),
      record('02:00:00:00:00:01', '10.5.0.13'),
      record('02:00:00:00:00:03', '10.5.0.11'),
      record('02:00:00:00:00:04', '10.5.0.14'),
      record('02:00:00:00:00:04', '10.5.0.14', { state: 'declined' }),
    ].map(formatLeaseRecord).join('');
    const { records, skipped } = replayJournal(text);
    expect(skipped).toEqual([]);
    expect([...records.values()].map((entry) => [entry.mac, entry.ip & 255])).toEqual([['02:00:00:00:00:01', 13], ['02:00:00:00:00:03', 11]]);
  });

  it('writes each record as the very line JSON.stringify makes of it (hand-built on the hot path)', () => {
    const cases: LeaseRecord[] = [
      record('02:00:00:00:00:01', '10.5.0.1'),
      record('aa:bb:cc:dd:ee:ff', '255.255.255.255', { state: 'released', expiresAt: 0, hostName: 'we"ird\\name\u2028\n\u0001é', firmware: null, reserved: true, lastSeenAt: 5.5 }),
      record('02:00:00:00:00:02', '0.0.0.0', { state: 'declined', expiresAt: Number.NaN, hostName: '', firmware: 'uefi-x64 ipxe', lastSeenAt: Number.POSITIVE_INFINITY }),
    ];
    for (const entry of cases) {
      const { ip: address, ...rest } = entry;
      const expected = `${JSON.stringify({ mac: rest.mac, ip: `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`, state: rest.state, expiresAt: rest.expiresAt, hostName: rest.hostName, firmware: rest.firmware, reserved: rest.reserved, lastSeenAt: rest.lastSeenAt })}\n`;
      expect(formatLeaseRecord(entry)).toBe(expected);
    }
  });

  it('group commit: records appended while a write is on its way share the next write', async () => {
    const path = leaseFile();
    const { journal } = await LeaseJournal.open(path, () => []);
    const first = journal.append(record('02:00:00:00:02:00', '10.5.0.10'));
    await new Promise<void>((resolve) => setImmediate(resolve)); // the first write has started
    const later = Array.from({ length: 50 }, (_, index) => journal.append(record(`02:00:00:00:02:${(index + 1).toString(16).padStart(2, '0')}`, `10.5.1.${index}`)));
    await Promise.all([first, ...later]);
    expect(journal.syncCount).toBe(2);
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(51);
    await journal.close();
  });

  it('group commit: appends made together share one write, and every one resolves after the sync', async () => {
    const path = leaseFile();
    const live: LeaseRecord[] = [];
    const { journal } = await LeaseJournal.open(path, () => live);
    const appends = Array.from({ length: 200 }, (_, index) => journal.append(record(`02:00:00:00:01:${index.toString(16).padStart(2, '0')}`, `10.5.${index >> 8}.${index & 255}`)));
    await Promise.all(appends);
    expect(journal.syncCount).toBe(1);
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(200);
    await journal.close();
    expect(readLeases(path)).toHaveLength(200);
  });

  it('compacts on open: one line per live lease, written atomically', async () => {
    const path = leaseFile();
    const first = await LeaseJournal.open(path, () => []);
    for (let i = 0; i < 5; i++) await first.journal.append(record('02:00:00:00:00:09', `10.5.0.${10 + (i % 2)}`));
    await first.journal.close();
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(5);
    const second = await LeaseJournal.open(path, () => []);
    expect(second.records).toHaveLength(1);
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(1);
    await second.journal.close();
  });

  it('compacts at run time once the journal is far longer than the live leases', async () => {
    const path = leaseFile();
    const live = new Map<string, LeaseRecord>();
    const snapshot = (): LeaseRecord[] => [...live.values()];
    const { journal } = await LeaseJournal.open(path, snapshot, Date.now(), () => live.size, 10);
    for (let i = 0; i < 40; i++) {
      const entry = record(`02:00:00:00:02:0${i % 2}`, `10.5.0.${10 + (i % 2)}`, { expiresAt: 2_000_000_000_000 + i });
      live.set(entry.mac, entry);
      await journal.append(entry);
    }
    await journal.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(12);
    expect(readLeases(path).map((lease) => lease.expiresAt).sort()).toEqual([2_000_000_000_038, 2_000_000_000_039]);
  });

  it('a torn last line is skipped with its position; complete records are kept; a copy of the damaged file is kept', async () => {
    const path = leaseFile();
    const good = formatLeaseRecord(record('02:00:00:00:00:0a', '10.5.0.10')) + formatLeaseRecord(record('02:00:00:00:00:0b', '10.5.0.11'));
    const { journal } = await LeaseJournal.open(path, () => []);
    await journal.close();
    const damaged = `${good}{"mac":"02:00:00:00:00:0c","ip":"10.5`;
    writeFileSync(path, damaged);
    const opened = await LeaseJournal.open(path, () => []);
    expect(opened.records.map((entry) => entry.mac)).toEqual(['02:00:00:00:00:0a', '02:00:00:00:00:0b']);
    expect(opened.skipped).toEqual([{ line: 3, offset: Buffer.byteLength(good), reason: 'not JSON (torn write or foreign data)' }]);
    expect(readFileSync(opened.damagedCopy!, 'utf8')).toBe(damaged);
    await opened.journal.close();
    expect(readLeases(path)).toHaveLength(2);
  });

  it('garbage never stops a start: binary data gives an empty table and a copy', async () => {
    const path = leaseFile();
    const { journal } = await LeaseJournal.open(path, () => []);
    await journal.close();
    writeFileSync(path, Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x7b, 0x7d, 0x0a, 0x5b, 0x31, 0x5d]));
    const opened = await LeaseJournal.open(path, () => []);
    expect(opened.records).toEqual([]);
    expect(opened.skipped.length).toBeGreaterThan(0);
    expect(readdirSync(join(path, '..')).some((name) => name.startsWith('leases.json.damaged-'))).toBe(true);
    await opened.journal.close();
  });

  it('removes temp files an interrupted atomic write left (.leases.json.tmp-*), and only those', async () => {
    const path = leaseFile();
    const folder = join(path, '..');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, '.leases.json.tmp-4242-kx1'), '{"mac":"02:00:00:00:00:0e","ip":"10.5');
    writeFileSync(join(folder, '.other.json.tmp-4242-kx1'), 'not ours');
    const opened = await LeaseJournal.open(path, () => []);
    expect(opened.strayTempFiles).toEqual([{ name: '.leases.json.tmp-4242-kx1', removed: true, error: null }]);
    expect(readdirSync(folder).filter((name) => name.includes('.tmp-')).sort()).toEqual(['.other.json.tmp-4242-kx1']);
    await opened.journal.close();
  });

  it('remembers what is on disk per MAC (durableLeaseOf): from the file at open, then from each write that went through', async () => {
    const path = leaseFile();
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, formatLeaseRecord(record('02:00:00:00:00:10', '10.5.0.10', { expiresAt: 5000 })));
    const opened = await LeaseJournal.open(path, () => []);
    expect(opened.journal.durableLeaseOf('02:00:00:00:00:10')).toEqual({ ip: ip('10.5.0.10'), state: 'bound', expiresAt: 5000 });
    expect(opened.journal.durableLeaseOf('02:00:00:00:00:11')).toBeNull();
    await opened.journal.append(record('02:00:00:00:00:10', '10.5.0.10', { state: 'released', expiresAt: 6000 }));
    expect(opened.journal.durableLeaseOf('02:00:00:00:00:10')).toMatchObject({ state: 'released', expiresAt: 6000 });
    await opened.journal.close();
  });

  it('an unwritable folder at open is not fatal: degraded (appends fail, nothing remembered as durable), and it recovers when writable', async () => {
    const blocker = join(scratch, `blocker-${Math.random().toString(36).slice(2)}`);
    writeFileSync(blocker, 'a file where the state folder should be');
    const path = join(blocker, 'leases.json');
    const live: LeaseRecord[] = [];
    const opened = await LeaseJournal.open(path, () => live);
    expect(opened.writeError).not.toBeNull();
    expect(opened.journal.degraded).not.toBeNull();
    const first = record('02:00:00:00:00:12', '10.5.0.12');
    live.push(first);
    await expect(opened.journal.append(first)).rejects.toThrow();
    expect(opened.journal.durableLeaseOf(first.mac)).toBeNull();
    expect(await opened.journal.retryOpen()).toBe(false);
    rmSync(blocker);
    // Writable again: the next append reopens the file, writing the live records (they hold this append's effect).
    const second = record('02:00:00:00:00:13', '10.5.0.13');
    live.push(second);
    await opened.journal.append(second);
    expect(opened.journal.degraded).toBeNull();
    expect([...replayJournal(readFileSync(path, 'utf8')).records.keys()].sort()).toEqual([first.mac, second.mac]);
    expect(opened.journal.durableLeaseOf(second.mac)).toMatchObject({ state: 'bound' });
    await opened.journal.close();
  });

  it('a file that cannot be read is never overwritten: read on a retry, its records adopted, then rewritten', async () => {
    const path = join(scratch, `unreadable-${Math.random().toString(36).slice(2)}.json`);
    mkdirSync(path); // EISDIR on read
    const adopted: LeaseRecord[] = [];
    const live: LeaseRecord[] = [];
    const opened = await LeaseJournal.open(path, () => live, Date.now(), undefined, undefined, { adoptRecords: (records) => { adopted.push(...records); live.push(...records); } });
    expect(opened.readError).not.toBeNull();
    expect(opened.journal.degraded).not.toBeNull();
    rmSync(path, { recursive: true });
    writeFileSync(path, formatLeaseRecord(record('02:00:00:00:00:14', '10.5.0.14')));
    expect(await opened.journal.retryOpen()).toBe(true);
    expect(adopted.map((entry) => entry.mac)).toEqual(['02:00:00:00:00:14']);
    expect([...replayJournal(readFileSync(path, 'utf8')).records.keys()]).toEqual(['02:00:00:00:00:14']);
    await opened.journal.close();
  });

  it('a failed write rejects the waiting ACKs instead of pretending', async () => {
    const path = leaseFile();
    const { journal } = await LeaseJournal.open(path, () => []);
    await journal.close();
    await expect(journal.append(record('02:00:00:00:00:0d', '10.5.0.10'))).rejects.toThrow(/closed/);
  });
});

describe('readLeases (netboot leases)', () => {
  it('returns [] when there is no lease file yet', () => {
    expect(readLeases(join(scratch, 'nothing-here.json'))).toEqual([]);
  });

  it('marks bound leases past their expiry as expired and sorts by address', () => {
    const path = join(scratch, 'read.json');
    writeFileSync(path, [record('02:00:00:00:00:01', '10.5.0.12', { expiresAt: 10 }), record('02:00:00:00:00:02', '10.5.0.11')].map(formatLeaseRecord).join('') + 'garbage\n');
    const { leases, skipped } = readLeasesWithReport(path, 1000);
    expect(leases.map((lease) => [lease.ip, lease.state])).toEqual([['10.5.0.11', 'bound'], ['10.5.0.12', 'expired']]);
    expect(skipped).toHaveLength(1);
  });
});

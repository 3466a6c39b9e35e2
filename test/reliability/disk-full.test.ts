/**
 * Property 3: the state folder full or read-only. The lease file and
 * boot-once state live on a tiny tmpfs made by the test. With the tmpfs
 * filled to the last byte, and then remounted read-only:
 * - a new lease that cannot be persisted is not ACKed;
 * - leases already held keep being renewed, TFTP and HTTP keep serving;
 *   (read-only is tested from the start: a tmpfs with open files cannot be
 *   remounted read-only, and a read-only bind would not stop writes through
 *   the journal's open descriptor);
 * - the failure shows on /api/status and /metrics, and is logged
 *   rate-limited (not one line per packet);
 * - when space returns (filler removed, or remounted read-write), new leases
 *   are ACKed again without a restart.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetbootProcess } from '../../src/tools/fuzz/target.js';
import { metricSum } from '../../src/tools/fuzz/target.js';
import { ClientPoolProcess, testMac } from '../helpers/dhcp-client-pool.js';
import { createRelLab, inClient, recordResult, reliabilitySkipReason, type RelLab } from './support.js';

const skip = reliabilitySkipReason(['atftp', 'curl', 'mount', 'nsenter']);

/** Fills the filesystem holding `folder` until ENOSPC; returns the filler's path. */
function fill(folder: string): string {
  const path = join(folder, 'filler.bin');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096, 0x55);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
  // The last partial page too.
  try { for (;;) writeSync(fd, Buffer.alloc(1)); } catch { /* full */ }
  closeSync(fd);
  return path;
}

describe.skipIf(skip !== null)(`state folder full or read-only${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let lab: RelLab;
  let pool: ClientPoolProcess;
  let netboot: NetbootProcess;
  let mountPoint: string;
  const figures: Record<string, unknown> = {};
  const held = new Map<string, string>();
  let next = 0;
  let renewedWhileFull = -1;

  const newClients = async (count: number): Promise<{ acked: number; none: number; nak: number }> => {
    const result = { acked: 0, none: 0, nak: 0 };
    const outcomes = await Promise.all(Array.from({ length: count }, () => pool.dora(testMac(7, next++))));
    for (const outcome of outcomes) {
      if (outcome.type === 'ack') result.acked++;
      else if (outcome.type === 'nak') result.nak++;
      else result.none++;
    }
    return result;
  };
  const renewHeld = async (): Promise<number> => {
    const outcomes = await Promise.all([...held.keys()].map((mac) => pool.renew(mac, lab.serverAddress)));
    return outcomes.filter((outcome, i) => outcome.type === 'ack' && outcome.ip === [...held.values()][i]).length;
  };
  const servesFiles = (): { tftp: boolean; http: boolean } => ({
    tftp: inClient(lab, 'atftp', ['-g', '-r', 'pxelinux.0', '-l', '/dev/null', lab.serverAddress, '69'], 30_000).code === 0,
    http: inClient(lab, 'curl', ['-sf', '-o', '/dev/null', `http://${lab.serverAddress}:${lab.httpPort}/trees/debian/big.bin`], 30_000).code === 0,
  });
  const persistErrorsShown = (): { status: number; metric: number } => {
    const dhcp = lab.status().services.dhcp?.status as Record<string, number> | undefined;
    return { status: dhcp?.persistErrors ?? 0, metric: metricSum(lab.metrics(), 'netboot_dhcp_persist_errors_total') };
  };
  const persistLogLines = (): number => netboot.lines.filter((line) => /lease could not be written|NETBOOT_ERR_STATE_WRITE/.test(JSON.stringify(line))).length;

  beforeAll(async () => {
    lab = createRelLab(3);
    mountPoint = join(lab.files.dir, 'tiny-state');
    mkdirSync(mountPoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'netboot-rel-tiny', mountPoint]);
    lab.writeConfig((config) => {
      config.stateDir = mountPoint;
      config.dhcp!.leaseFile = join(mountPoint, 'leases.json');
    });
    netboot = await lab.start();
    pool = await ClientPoolProcess.start(lab.veth.client, { mode: 'direct', sendTo: `${lab.prefix}.255`, timeoutMs: 300, retries: 2 });
    for (let i = 0; i < 8; i++) {
      const mac = testMac(7, next++);
      const outcome = await pool.dora(mac);
      if (outcome.type === 'ack') held.set(mac, outcome.ip);
    }
  });

  afterAll(async () => {
    await pool?.stop();
    await netboot?.stop();
    if (mountPoint) { try { execFileSync('umount', [mountPoint]); } catch { /* not mounted */ } }
    lab?.destroy();
    recordResult('disk-full', figures);
  });

  it('full: every ACK is in the lease file, no crash, TFTP/HTTP go on, the error shows, new leases are ACKed again once space returns', async () => {
    expect(held.size).toBe(8);
    const errorsBefore = persistErrorsShown();
    const linesBefore = persistLogLines();
    const filler = fill(mountPoint);
    const firstNew = next;
    const attempts = 40;
    const blocked = await newClients(attempts);
    renewedWhileFull = await renewHeld();
    const files = servesFiles();
    await new Promise((done) => setTimeout(done, 300));
    const errors = persistErrorsShown();
    const logLines = persistLogLines() - linesBefore;
    // An ACK is a promise that the lease is on disk: every client ACKed while the disk was full is in the file.
    const listed = new Map(lab.leases().map((lease) => [lease.mac, lease.ip]));
    const ackedNotPersisted: string[] = [];
    const state = await pool.state();
    for (let i = firstNew; i < next; i++) {
      const mac = testMac(7, i);
      const ip = state.held[mac];
      if (ip !== undefined && listed.get(mac) !== ip) ackedNotPersisted.push(`${mac} ${ip}`);
    }
    rmSync(filler);
    const recovered = await newClients(5);
    figures.full = {
      tmpfsBytes: 256 * 1024, newClientsTried: attempts, acked: blocked.acked, unanswered: blocked.none, naked: blocked.nak, ackedNotPersisted: ackedNotPersisted.length,
      heldLeases: held.size, renewedSameAddress: renewedWhileFull, tftpServed: files.tftp, httpServed: files.http,
      statusPersistErrors: errors.status - errorsBefore.status, metricPersistErrors: errors.metric - errorsBefore.metric, persistErrorLogLines: logLines,
      afterRecoveryAcked: recovered.acked, afterRecoveryTried: 5,
    };
    expect(ackedNotPersisted).toEqual([]);
    expect(blocked.none).toBeGreaterThan(0); // the disk really was full for some of them
    expect(files).toEqual({ tftp: true, http: true });
    expect(errors.status).toBeGreaterThan(errorsBefore.status);
    expect(errors.metric).toBeGreaterThan(errorsBefore.metric);
    expect(recovered.acked).toBe(5);
    expect(netboot.alive).toBe(true);
  }, 120_000);

  it('root cause shown: on a nearly full filesystem FileHandle.write returns a short count without an error', async () => {
    const { open } = await import('node:fs/promises');
    const journal = await open(join(mountPoint, 'short-write-probe'), 'a');
    await journal.write('x'.repeat(100));
    const filler = fill(mountPoint);
    const first = await journal.write('y'.repeat(5000)).then((result) => result.bytesWritten, (error: NodeJS.ErrnoException) => error.code ?? 'error');
    const second = await journal.write('z'.repeat(100)).then((result) => result.bytesWritten, (error: NodeJS.ErrnoException) => error.code ?? 'error');
    await journal.close();
    rmSync(filler);
    rmSync(join(mountPoint, 'short-write-probe'));
    figures.shortWriteProbe = { asked: 5000, firstWriteReturned: first, nextWriteReturned: second };
    expect(typeof first === 'number' && first < 5000).toBe(true);
    expect(second).toBe('ENOSPC');
  });

  // Found by this file: LeaseJournal.flushBatch once ignored `bytesWritten`; on a nearly full filesystem the write is
  // SHORT (the probe above), so a batch's ACKs went out for records not on disk. store.ts now loops on short writes.
  it('full: every lease record whose journal append resolved is in the file (a short write fails the batch)', async () => {
    // Deterministic form of the end-to-end check above (which depends on where a batch meets the end of the free
    // space): 40 records appended in one tick go out as one batch; with less room than that left on the tmpfs the
    // write is short, and still every append resolves.
    const { LeaseJournal } = await import('../../src/dhcp/leases/store.js');
    const { replayJournal } = await import('../../src/dhcp/leases/lease-record.js');
    const path = join(mountPoint, 'journal-probe.json');
    const { journal } = await LeaseJournal.open(path, () => []);
    const records = Array.from({ length: 41 }, (_, i) => ({
      mac: testMac(9, i), ip: (10 << 24) + (78 << 16) + (3 << 8) + 100 + i, state: 'bound' as const,
      expiresAt: Date.now() + 3_600_000, hostName: null, firmware: 'bios', reserved: false, lastSeenAt: Date.now(),
    }));
    // One record first, so the file's last page is allocated and partly free, as in a journal that has been in use.
    await journal.append(records.shift()!);
    const filler = fill(mountPoint);
    const settled = await Promise.allSettled(records.map((record) => journal.append(record)));
    await journal.close();
    rmSync(filler);
    const resolved = records.filter((_, i) => settled[i]!.status === 'fulfilled').map((record) => record.mac);
    const onDisk = replayJournal(readFileSync(path, 'utf8')).records;
    onDisk.delete(testMac(9, 0));
    const missing = resolved.filter((mac) => !onDisk.has(mac));
    rmSync(path);
    figures.journalProbe = { appended: records.length, resolved: resolved.length, onDisk: onDisk.size, resolvedButMissing: missing.length };
    expect(missing).toEqual([]);
  });

  // Was a gap (0/8 renewed): the renewal's new expiry cannot be journaled, so the ACK now carries only the lease
  // time the record already on disk promises (src/dhcp/service.ts shortenToDurable).
  it('full: renewals of leases already held are still ACKed, for no longer than the lease on disk', () => {
    expect(renewedWhileFull).toBe(held.size);
  });

  // Was a gap (serve exited with code 3): the DHCP service now starts degraded (src/dhcp/service.ts openLeases),
  // shows the error, and reopens the lease file every DHCP_STATE_RETRY_MS.
  it('read-only state folder at start: TFTP/HTTP serve, DHCP ACKs nothing new, the error shows, DHCP recovers when it is writable again', async () => {
    await netboot.stop();
    execFileSync('mount', ['-o', 'remount,ro', mountPoint]);
    let started = true;
    try {
      netboot = await lab.start();
    } catch (error) {
      started = false;
      const lines = String(error).split('\n').filter((line) => /"level":(50|60)|error|Error/.test(line)).slice(-3);
      figures.readOnly = { started: false, lastErrors: lines.map((line) => line.slice(0, 400)) };
    }
    expect(started, 'netboot starts with a read-only state folder').toBe(true);
    const blocked = await newClients(10);
    const files = servesFiles();
    const dhcp = lab.status().services.dhcp;
    execFileSync('mount', ['-o', 'remount,rw', mountPoint]);
    // netboot runs under `ip netns exec`, which gave it its own mount namespace when the mount was read-only: the
    // per-mount read-only flag was copied there and a remount here does not reach it. Remount in its namespace too.
    execFileSync('nsenter', ['-t', String(netboot.pid), '-m', 'mount', '-o', 'remount,rw', mountPoint]);
    // The DHCP service reopens the lease file every DHCP_STATE_RETRY_MS (5 s), and on each new lease.
    let recovered = { acked: 0, none: 0, nak: 0 };
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline && recovered.acked === 0) {
      await new Promise((done) => setTimeout(done, 1000));
      recovered = await newClients(1);
    }
    figures.readOnly = { started, newClientsTried: 10, acked: blocked.acked, tftpServed: files.tftp, httpServed: files.http, dhcpState: dhcp?.state, dhcpLastError: dhcp?.lastError, leaseFile: (dhcp?.status as { leaseFile?: unknown } | undefined)?.leaseFile, recoveredWithoutRestart: recovered.acked > 0 };
    expect(blocked.acked).toBe(0);
    expect(files).toEqual({ tftp: true, http: true });
    expect(dhcp?.state === 'ready' ? (dhcp.status as Record<string, number>).persistErrors : 1).toBeGreaterThan(0);
    expect((dhcp?.status as { leaseFile?: { writable: boolean } } | undefined)?.leaseFile?.writable).toBe(false);
    expect(recovered.acked).toBe(1);
  }, 120_000);

  // Was a gap (one error line per failed lease): persistFailed() now logs one line per DHCP_PERSIST_LOG_INTERVAL_MS
  // with the count, while status and metrics count every failure.
  it('logs the persistence failure rate-limited, not once per packet', () => {
    const full = figures.full as { persistErrorLogLines: number; statusPersistErrors: number } | undefined;
    expect(full).toBeDefined();
    expect(full!.statusPersistErrors).toBeGreaterThan(5);
    expect(full!.persistErrorLogLines).toBeLessThanOrEqual(5);
  });
});

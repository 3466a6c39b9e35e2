/**
 * Property 4: hostile input. Runs the repository's fuzzer (`npm run fuzz`,
 * dist/tools/fuzz.js) against a netboot it starts itself in a namespace pair
 * (DHCP on 67 and 4011, TFTP on 69 and live transfer ports, malformed HTTP),
 * 100,000 packets in CI and 1,000,000 with NETBOOT_LONG=1, and asserts each
 * of its after-checks separately. Plus one precise probe for a counting gap
 * the fuzzer's accounting found.
 */
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLabFiles, type LabFiles } from '../../src/tools/fuzz/lab-files.js';
import { fetchStatus, NetbootProcess } from '../../src/tools/fuzz/target.js';
import { rrq } from '../../src/tools/fuzz/tftp-packets.js';
import type { FuzzReport } from '../../src/tools/fuzz.js';
import { RATE_LIMIT_DETAILED_MAX, RATE_LIMIT_INTERVAL_MS } from '../../src/log/rate-limited-warnings.js';
import { freePort } from '../helpers/ports.js';
import { LONG, recordResult, reliabilitySkipReason } from './support.js';

const FUZZ = resolve(import.meta.dirname, '../../dist/tools/fuzz.js');
const skip = reliabilitySkipReason(['atftp', 'curl', 'udhcpc']);
const PACKETS = LONG ? 1_000_000 : 100_000;

describe.skipIf(skip !== null)(`fuzzing ${PACKETS} packets at a running netboot${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let report: FuzzReport;
  let output = '';
  const check = (name: string) => {
    const found = report.checks.find((each) => each.name === name);
    if (!found) throw new Error(`the fuzzer made no check named "${name}"; it made: ${report.checks.map((each) => each.name).join(' | ')}\n${output}`);
    return found;
  };

  beforeAll(() => {
    const folder = mkdtempSync(join(tmpdir(), 'netboot-fuzz-'));
    const json = join(folder, 'report.json');
    const seed = process.env.NETBOOT_SEED ?? String(Date.now() % 1_000_000);
    const run = spawnSync(process.execPath, [FUZZ, '--packets', String(PACKETS), '--seed', seed, '--json', json], { encoding: 'utf8', timeout: (LONG ? 60 : 5) * 60_000 });
    output = `${run.stdout}\n${run.stderr}`;
    report = JSON.parse(readFileSync(json, 'utf8')) as FuzzReport;
    rmSync(folder, { recursive: true, force: true });
    console.log(output);
    recordResult('hostile-input', {
      seed: report.seed, sent: report.totals, sentByKind: report.sent, warmupPackets: report.warmupPackets, dropReasons: report.drops.length, drops: report.drops, log: report.log, kernelUdpDrops: report.kernelUdpDrops, closedPortPackets: report.closedPortPackets,
      httpStatuses: report.httpStatuses, tftpReplies: report.tftpReplies, victimTransfers: report.victimTransfers, rss: report.rss, memory: report.memory,
      accounting: report.accounting, violations: report.violations.length, checks: report.checks.map((each) => ({ name: each.name, ok: each.ok, detail: each.detail })), durationS: report.durationS,
    });
  }, (LONG ? 60 : 5) * 60_000);

  it('sends the requested number of packets to every target', () => {
    expect(report.totals.all).toBe(PACKETS);
    expect(report.totals.dhcp).toBeGreaterThan(PACKETS * 0.4);
    expect(report.sent.dhcpProxy).toBeGreaterThan(0);
    expect(Object.keys(report.sent.tftpTransfer).length).toBeGreaterThan(0);
    expect(report.totals.http).toBeGreaterThan(PACKETS * 0.05);
  });

  it('leaves the process alive with no service restarted', () => {
    expect(check('process alive after fuzzing').ok).toBe(true);
    expect(check('no service restarted').ok, check('no service restarted').detail).toBe(true);
  });

  it('real clients still get exact answers: atftp, curl, udhcpc', () => {
    for (const name of ['after fuzzing: atftp fetches pxelinux.0 exactly', 'after fuzzing: curl fetches a tree file exactly', 'after fuzzing: curl fetches /tftp/pxelinux.0 exactly', 'after fuzzing: udhcpc obtains a lease']) {
      expect(check(name).ok, `${name}: ${check(name).detail}`).toBe(true);
    }
  });

  it('serves nothing outside a root and refuses what must be refused', () => {
    expect(report.violations).toEqual([]);
  });

  it('keeps a transfer sprayed by strangers exact (RFC 1350 §4 unknown TID)', () => {
    expect(check('transfers sprayed by strangers complete exactly').ok, check('transfers sprayed by strangers complete exactly').detail).toBe(true);
  });

  it('counts every DHCP packet (answered or dropped with a reason)', () => {
    expect(check('drop counters account for every DHCP packet').ok, check('drop counters account for every DHCP packet').detail).toBe(true);
    expect(check('drops are counted by reason').ok).toBe(true);
  });

  it('never logs the API token', () => {
    expect(check('API token never logged').ok).toBe(true);
  });

  // Every TFTP packet sent is counted by netboot: a transfer started, a refusal, a malformed/unknown-TID drop with a
  // reason, or a repeated RRQ from a client port whose transfer runs (status `duplicates`), less what the kernel dropped.
  it('counts every TFTP packet (started, refused, duplicate request, or dropped with a reason)', () => {
    expect(check('drop counters account for every TFTP packet').ok, check('drop counters account for every TFTP packet').detail).toBe(true);
  });

  it('logs refused TFTP requests at warn at most about once per interval, never one line per refusal', () => {
    const refusalWarnings = report.log.topWarnings.filter((each) => /TFTP request/.test(each.msg)).reduce((sum, each) => sum + each.count, 0);
    // Per 30 s interval: at most RATE_LIMIT_DETAILED_MAX detailed lines and one summary. Thousands of refusals must not become thousands of lines.
    const intervals = Math.ceil((report.durationS * 1000) / RATE_LIMIT_INTERVAL_MS) + 1;
    recordResult('hostile-input-tftp-refusal-log', { refusalWarnLines: refusalWarnings, intervals, refusedByReason: report.drops.filter((drop) => /refused/.test(drop.reason)) });
    expect(refusalWarnings, JSON.stringify(report.log.topWarnings)).toBeLessThanOrEqual(intervals * (RATE_LIMIT_DETAILED_MAX + 1));
  });

  it('logs failed TFTP transfers at warn at most about once per client and kind of failure per interval, never one line per failure', () => {
    // The fuzzer's clients start transfers and vanish (ICMP port unreachable, silence): hundreds of failures, each in metrics and /api/events, not each a warn line.
    const failureWarnings = report.log.topWarnings.filter((each) => /TFTP transfers? failed/.test(each.msg)).reduce((sum, each) => sum + each.count, 0);
    const intervals = Math.ceil((report.durationS * 1000) / RATE_LIMIT_INTERVAL_MS) + 1;
    recordResult('hostile-input-tftp-failure-log', { failureWarnLines: failureWarnings, intervals, topWarnings: report.log.topWarnings });
    expect(failureWarnings, JSON.stringify(report.log.topWarnings)).toBeLessThanOrEqual(intervals * (RATE_LIMIT_DETAILED_MAX + 1));
  });

  it('logs refused HTTP file requests at warn at most about once per client and reason per interval, never one line per refusal', () => {
    const refusalWarnings = report.log.topWarnings.filter((each) => /HTTP file request/.test(each.msg)).reduce((sum, each) => sum + each.count, 0);
    const intervals = Math.ceil((report.durationS * 1000) / RATE_LIMIT_INTERVAL_MS) + 1;
    recordResult('hostile-input-http-refusal-log', { refusalWarnLines: refusalWarnings, intervals, httpStatuses: report.httpStatuses });
    expect(refusalWarnings, JSON.stringify(report.log.topWarnings)).toBeLessThanOrEqual(intervals * (RATE_LIMIT_DETAILED_MAX + 1));
  });

  // RELIABILITY.md gap 9. What was left after the HTTP retention fixes was not a leak but when V8 gives its heap
  // pages back: the TFTP phase adds 14-21 MiB of main-isolate heap, all returned (and more) when V8's memory reducer
  // runs, which happened before the final reading in some runs and not in others (-22% to +18.6% for one build).
  // netboot now runs one full collection itself after a busy spell followed by 5 quiet seconds
  // (src/runtime/idle-trim.ts), so the reading after the fuzzer's settle time (up to 30 s) is taken after a
  // known moment rather than whenever V8 decides.
  it('returns RSS to within 10% of the warmed-up baseline', () => {
    expect(check('RSS back within 10% of the warmed-up baseline').ok, check('RSS back within 10% of the warmed-up baseline').detail).toBe(true);
  });
});

const probeSkip = reliabilitySkipReason();
describe.skipIf(probeSkip !== null)('TFTP accounting probe', () => {
  let lab: LabFiles;
  let netboot: NetbootProcess;
  let tftpPort = 0;
  let httpPort = 0;

  beforeAll(async () => {
    // Ports free right now (a pid-derived HTTP port fell in the ephemeral range and collided with other tests).
    tftpPort = await freePort('udp');
    httpPort = await freePort('tcp');
    lab = makeLabFiles({ bigBytes: 256 * 1024 });
    lab.writeConfig({ serverAddress: '127.0.0.1', tftp: { listen: '127.0.0.1', port: tftpPort, timeout: 2 }, http: { listen: '127.0.0.1', port: httpPort } });
    netboot = await NetbootProcess.start({ configPath: lab.configPath });
  });
  afterAll(async () => {
    await netboot?.stop();
    rmSync(lab.dir, { recursive: true, force: true });
  });

  it('counts an RRQ repeated from the same client port while its transfer runs (as a duplicate request, no second transfer)', async () => {
    const counted = async (): Promise<number> => {
      const tftp = (await fetchStatus(`http://127.0.0.1:${httpPort}`)).services.tftp?.status as Record<string, unknown>;
      const malformed = Object.values((tftp.malformed ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);
      return (tftp.started as number) + (tftp.refused as number) + malformed + (tftp.duplicates as number);
    };
    const duplicates = async (): Promise<number> => ((await fetchStatus(`http://127.0.0.1:${httpPort}`)).services.tftp?.status as Record<string, number>).duplicates!;
    const socket: Socket = createSocket('udp4');
    await new Promise<void>((done) => socket.bind(0, '127.0.0.1', () => done()));
    const firstData = new Promise<void>((done) => socket.once('message', () => done()));
    const before = await counted();
    const duplicatesBefore = await duplicates();
    socket.send(rrq('big.bin', 'octet'), tftpPort, '127.0.0.1');
    await firstData; // the transfer runs; we do not ACK
    for (let i = 0; i < 10; i++) socket.send(rrq('big.bin', 'octet'), tftpPort, '127.0.0.1');
    await new Promise((done) => setTimeout(done, 300));
    const after = await counted();
    const duplicatesAfter = await duplicates();
    socket.close();
    recordResult('tftp-accounting-probe', { requestsFromOnePort: 11, countersRose: after - before, duplicates: duplicatesAfter - duplicatesBefore });
    // 11 requests arrived: each must be counted somewhere (started, refused, or dropped with a reason); the 10 repeats as duplicates.
    expect(after - before).toBe(11);
    expect(duplicatesAfter - duplicatesBefore).toBe(10);
  });
});

/**
 * Property 5: a lossy network. Two namespace pairs, one with 10% and one with
 * 30% loss, each with 5% duplication, 25% reordering and 5 ms delay applied
 * by tc netem in both directions (the server's and the client's egress). In
 * each: atftp fetches files lock-step and windowed (RFC 7440) and every copy
 * must be byte-exact; under 10% the simulated DHCP clients and udhcpc complete
 * their exchanges; an HTTP download cut in the middle resumes with Range and
 * is exact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetbootProcess } from '../../src/tools/fuzz/target.js';
import { ClientPoolProcess, testMac } from '../helpers/dhcp-client-pool.js';
import { ip } from '../helpers/netns.js';
import { createRelLab, inClient, inClientAsync, LONG, recordResult, reliabilitySkipReason, type RelLab } from './support.js';

const skip = reliabilitySkipReason(['tc', 'atftp', 'curl', 'udhcpc']);

interface Fetch {
  file: string;
  bytes: number;
  windowsize: number | null;
  copies: number;
}

interface LossLevel {
  lossPercent: number;
  subnet: number;
  /** Server retransmissions before a transfer is abandoned (tftp.retries); raised for 30% as an admin on a bad link would. */
  retries: number;
  fetches: Fetch[];
}

const LEVELS: LossLevel[] = [
  {
    lossPercent: 10, subnet: 5, retries: 6,
    fetches: [
      { file: 'lock-10.bin', bytes: LONG ? 1024 * 1024 : 48 * 1024, windowsize: null, copies: LONG ? 5 : 2 },
      { file: 'window-10.bin', bytes: LONG ? 4 * 1024 * 1024 : 192 * 1024, windowsize: 16, copies: LONG ? 5 : 2 },
    ],
  },
  {
    lossPercent: 30, subnet: 6, retries: 12,
    fetches: [
      { file: 'lock-30.bin', bytes: LONG ? 256 * 1024 : 12 * 1024, windowsize: null, copies: LONG ? 3 : 2 },
      { file: 'window-30.bin', bytes: LONG ? 1024 * 1024 : 48 * 1024, windowsize: 8, copies: LONG ? 3 : 2 },
    ],
  },
];

function netem(lab: RelLab, lossPercent: number): string {
  const spec = ['netem', 'loss', `${lossPercent}%`, 'duplicate', '5%', 'reorder', '25%', 'delay', '5ms'];
  ip('netns', 'exec', lab.veth.server, 'tc', 'qdisc', 'add', 'dev', lab.veth.serverIf, 'root', ...spec);
  ip('netns', 'exec', lab.veth.client, 'tc', 'qdisc', 'add', 'dev', lab.veth.clientIf, 'root', ...spec);
  return spec.join(' ');
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe.skipIf(skip !== null)(`lossy network (tc netem)${skip ? ` — skipped: ${skip}` : ''}`, () => {
  const labs = new Map<number, RelLab>();
  const servers: NetbootProcess[] = [];
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    for (const level of LEVELS) {
      const lab = createRelLab(level.subnet, { bigBytes: 2 * 1024 * 1024, tftp: { retries: level.retries, timeout: 1 } });
      for (const fetch of level.fetches) writeFileSync(join(lab.files.tftpRoot, fetch.file), randomBytes(fetch.bytes));
      figures[`netem${level.lossPercent}`] = netem(lab, level.lossPercent);
      labs.set(level.lossPercent, lab);
      servers.push(await lab.start());
    }
  });

  afterAll(async () => {
    for (const server of servers) await server.stop();
    for (const lab of labs.values()) lab.destroy();
    recordResult('lossy-network', figures);
  });

  it.each(LEVELS)('TFTP lock-step and windowed transfers are exact under $lossPercent% loss', async (level) => {
    const lab = labs.get(level.lossPercent)!;
    const outcomes: { file: string; windowsize: number | null; started: number; exact: number; failed: number }[] = [];
    // All transfers of this level at once (the link is shared, so they also see each other's traffic).
    await Promise.all(level.fetches.map(async (fetch) => {
      const outcome = { file: fetch.file, windowsize: fetch.windowsize, started: 0, exact: 0, failed: 0 };
      outcomes.push(outcome);
      const expected = sha256(readFileSync(join(lab.files.tftpRoot, fetch.file)));
      await Promise.all(Array.from({ length: fetch.copies }, async (_, copy) => {
        outcome.started++;
        const out = join(lab.files.dir, `${fetch.file}.${copy}.out`);
        const options = ['--option', 'blksize 1468', ...(fetch.windowsize ? ['--option', `windowsize ${fetch.windowsize}`] : [])];
        const result = (await inClientAsync(lab, 'atftp', [...options, '--tftp-timeout', '2', '-g', '-r', fetch.file, '-l', out, lab.serverAddress, '69'], (LONG ? 900 : 240) * 1000)).code;
        let exact = false;
        try { exact = result === 0 && sha256(readFileSync(out)) === expected; } catch { /* missing */ }
        if (exact) outcome.exact++; else outcome.failed++;
      }));
    }));
    const tftp = lab.status().services.tftp?.status as Record<string, number> | undefined;
    figures[`tftp${level.lossPercent}`] = { outcomes, serverRetransmits: tftp?.retransmits, serverCompleted: tftp?.completed, serverFailed: tftp?.failed };
    for (const outcome of outcomes) expect(outcome, JSON.stringify(outcome)).toMatchObject({ failed: 0, exact: outcome.started });
  }, (LONG ? 20 : 5) * 60_000);

  it('DHCP exchanges complete under 10% loss (client pool and udhcpc)', async () => {
    const lab = labs.get(10)!;
    const pool = await ClientPoolProcess.start(lab.veth.client, { mode: 'direct', sendTo: `${lab.prefix}.255`, timeoutMs: 500, retries: 5 });
    const clients = LONG ? 80 : 30;
    const outcomes = await Promise.all(Array.from({ length: clients }, (_, i) => pool.dora(testMac(5, i))));
    const renewals = await Promise.all(Array.from({ length: clients }, (_, i) => pool.renew(testMac(5, i), lab.serverAddress)));
    const state = await pool.state();
    await pool.stop();
    const script = join(lab.files.dir, 'udhcpc.sh');
    writeFileSync(script, '#!/bin/sh\n[ "$1" = bound ] && echo "LEASE $ip"\nexit 0\n', { mode: 0o755 });
    const udhcpc = inClient(lab, 'udhcpc', ['-i', lab.veth.clientIf, '-n', '-q', '-f', '-t', '8', '-T', '1', '-A', '1', '-s', script], 60_000);
    const lease = /LEASE (\S+)/.exec(udhcpc.stdout)?.[1] ?? null;
    const acked = outcomes.filter((outcome) => outcome.type === 'ack').length;
    const renewed = renewals.filter((outcome) => outcome.type === 'ack').length;
    figures.dhcp10 = { clients, doraAcked: acked, renewAcked: renewed, conflicts: state.conflicts.length, udhcpcLease: lease };
    expect(acked).toBe(clients);
    expect(renewed).toBe(clients);
    expect(state.conflicts).toEqual([]);
    expect(lease).toMatch(new RegExp(`^${lab.prefix.replace(/\./g, '\\.')}\\.`));
  }, 3 * 60_000);

  it('an HTTP download cut in the middle resumes with Range and is exact (10% loss)', () => {
    const lab = labs.get(10)!;
    const out = join(lab.files.dir, 'resumed.bin');
    const url = `http://${lab.serverAddress}:${lab.httpPort}/trees/debian/big.bin`;
    // First attempt: slowed and cut off after 2 s, as a dropped connection would leave it.
    const first = inClient(lab, 'curl', ['-s', '--limit-rate', '256k', '--max-time', '2', '-o', out, '-w', '%{http_code}', url], 30_000);
    const partial = readFileSync(out).length;
    const second = inClient(lab, 'curl', ['-s', '-C', '-', '--max-time', '120', '-o', out, '-w', '%{http_code}', url], 150_000);
    const whole = readFileSync(out);
    figures.httpResume = { firstExit: first.code, partialBytes: partial, secondStatus: second.stdout, totalBytes: whole.length, exact: sha256(whole) === lab.files.files['tree:big.bin']!.sha256 };
    expect(first.code).toBe(28); // curl: operation timed out
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(whole.length);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('206');
    expect(sha256(whole)).toBe(lab.files.files['tree:big.bin']!.sha256);
  }, 3 * 60_000);
});

/**
 * The TFTP service's warn lines for refusals and failed transfers, through
 * the shared rate limiter (src/log/rate-limited-warnings.ts): the first of
 * each client and reason at warn at once with client, file and reason, the
 * rest at debug, one summary with counts; every one still counted and in
 * /api/events. In-process service on 127.0.0.1, a raw client.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger, type Logger } from '../../../src/log/logger.js';
import { RATE_LIMIT_DETAILED_MAX, RATE_LIMIT_INTERVAL_MS } from '../../../src/log/rate-limited-warnings.js';
import type { Service } from '../../../src/supervisor/service.js';
import { decodePacket, encodePacket, Opcode, type TftpPacket } from '../../../src/tftp/codec.js';
import { createTftpService } from '../../../src/tftp/service.js';
import { failureWarnings, refusalWarnings, type RefusalFields } from '../../../src/tftp/warn-log.js';
import { makeTestContext, testConfig, type TestContext } from '../../helpers/service-context.js';

const scratch = mkdtempSync(join(tmpdir(), `netboot-tftp-warn-${process.pid}-`));
const root = join(scratch, 'root');
mkdirSync(root);
writeFileSync(join(root, 'small.bin'), Buffer.alloc(3000, 7));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const WARN = 40;
const DEBUG = 20;
interface LogLine { level: number; msg: string; client?: string; file?: string; reason?: string | null; failure?: string; count?: number; byReason?: Record<string, number>; clients?: number | string }

async function start(): Promise<{ service: Service & { port: number }; context: TestContext; lines: () => LogLine[] }> {
  const chunks: string[] = [];
  const sink = new Writable({ write(chunk, _encoding, callback) { chunks.push(String(chunk)); callback(); } });
  const log = createLogger({ level: 'debug', pretty: false, destination: sink });
  const config = testConfig(`
server: { address: 127.0.0.1 }
dhcp: { mode: off }
tftp: { port: 0, listen: 127.0.0.1, root: ${root}, maxTransfersPerClient: 200 }
http: { enabled: false }
`, join(scratch, 'lab.yaml'));
  const context = makeTestContext(config, { log });
  const service = createTftpService(context) as Service & { port: number };
  await service.start();
  const lines = () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as LogLine);
  return { service, context, lines };
}

async function openClient(): Promise<{ socket: Socket; next: () => Promise<{ packet: TftpPacket; port: number }>; send: (packet: TftpPacket, port: number) => void }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const queue: { packet: TftpPacket; port: number }[] = [];
  let waiter: (() => void) | null = null;
  socket.on('message', (msg, from) => {
    queue.push({ packet: decodePacket(msg), port: from.port });
    waiter?.();
  });
  const next = async (): Promise<{ packet: TftpPacket; port: number }> => {
    while (queue.length === 0) await new Promise<void>((resolve) => (waiter = resolve));
    return queue.shift()!;
  };
  return { socket, next, send: (packet, port) => { const wire = encodePacket(packet); socket.send(wire.buf.subarray(0, wire.end), port, '127.0.0.1'); } };
}

describe('TFTP warn lines', () => {
  it('refusals: the first per (client, reason, file) a warn line at once, repeats debug, routine probes debug only, one summary with counts', async () => {
    const { service, context, lines } = await start();
    const c = await openClient();
    for (let i = 0; i < 10; i++) {
      c.send({ opcode: Opcode.ReadRequest, filename: 'missing.efi', mode: 'octet', options: [] }, service.port);
      expect((await c.next()).packet.opcode).toBe(Opcode.Error);
    }
    // pxelinux probing its config names: routine, never a warn line.
    c.send({ opcode: Opcode.ReadRequest, filename: 'pxelinux.cfg/01-52-54-00-00-00-07', mode: 'octet', options: [] }, service.port);
    await c.next();
    const warnedAtOnce = lines().filter((line) => line.level === WARN && line.msg === 'TFTP request refused');
    expect(warnedAtOnce).toHaveLength(1);
    expect(warnedAtOnce[0]).toMatchObject({ client: '127.0.0.1', file: 'missing.efi', reason: 'not-found' });
    await service.stop(0); // writes the pending summary
    const all = lines();
    expect(all.filter((line) => line.level === DEBUG && line.msg === 'TFTP request refused')).toHaveLength(10); // 9 held back + the probe
    expect(all.filter((line) => /TFTP request/.test(line.msg) && line.level === WARN && line.file?.startsWith('pxelinux.cfg'))).toHaveLength(0);
    const summaries = all.filter((line) => line.level === WARN && line.msg === 'TFTP requests refused (interval summary, not logged one by one)');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ count: 9, byReason: { 'not-found': 9 }, clients: 1 });
    expect(context.metrics.value('netboot_tftp_refused_total', { reason: 'not-found' })).toBe(11);
    c.socket.close();
  });

  it('failed transfers: one warn line per client address and kind of failure, with client, file and reason; the rest debug and counted', async () => {
    const { service, context, lines } = await start();
    const failures = 12;
    for (let i = 0; i < failures; i++) {
      // A new port each time, as a retrying PXE client or a vanishing fuzz client: still one machine.
      const c = await openClient();
      c.send({ opcode: Opcode.ReadRequest, filename: 'small.bin', mode: 'octet', options: [] }, service.port);
      const data = await c.next();
      expect(data.packet.opcode).toBe(Opcode.Data);
      c.send({ opcode: Opcode.Error, code: 0, message: `gave up ${i}` }, data.port);
      await waitFor(() => (service.status() as { failed: number }).failed === i + 1);
      c.socket.close();
    }
    const warned = lines().filter((line) => line.level === WARN && line.msg === 'TFTP transfer failed');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ file: 'small.bin', reason: 'client error 0: gave up 0', failure: 'client-error' });
    expect(warned[0]!.client).toMatch(/^127\.0\.0\.1:\d+$/);
    await service.stop(0);
    const all = lines();
    expect(all.filter((line) => line.level === DEBUG && line.msg === 'TFTP transfer failed')).toHaveLength(failures - 1);
    const summary = all.find((line) => line.msg === 'TFTP transfers failed (interval summary, not logged one by one)');
    expect(summary).toMatchObject({ level: WARN, count: failures - 1, byReason: { 'client-error': failures - 1 }, clients: 1 });
    // Every failure still counted and recorded as an event.
    expect(context.metrics.value('netboot_tftp_transfers_total', { outcome: 'failed' })).toBe(failures);
    expect(context.events.list().filter((event) => event.kind === 'tftp.failed')).toHaveLength(failures);
  });

  it('failure kinds come from where the transfer failed (the key and summary count; the reason text may hold the client\'s own words)', async () => {
    const { service, lines } = await start();
    const erring = await openClient();
    erring.send({ opcode: Opcode.ReadRequest, filename: 'small.bin', mode: 'octet', options: [] }, service.port);
    const first = await erring.next();
    expect(first.packet.opcode).toBe(Opcode.Data);
    erring.send({ opcode: Opcode.Error, code: 0, message: 'Server shutting down (client words)' }, first.port);
    const stalled = await openClient();
    stalled.send({ opcode: Opcode.ReadRequest, filename: 'small.bin', mode: 'octet', options: [] }, service.port);
    expect((await stalled.next()).packet.opcode).toBe(Opcode.Data);
    await service.stop(0); // ends the stalled transfer: aborted
    const kinds = lines().filter((line) => line.msg === 'TFTP transfer failed').map((line) => line.failure).sort();
    expect(kinds).toEqual(['aborted', 'client-error']);
    erring.socket.close();
    stalled.socket.close();
  });
});

function capturingLogger(): { log: Logger; warnings: { fields: Record<string, unknown>; message: string }[]; debugs: number } {
  const captured = { warnings: [] as { fields: Record<string, unknown>; message: string }[], debugs: 0 };
  const log = {
    warn: (fields: Record<string, unknown>, message: string) => captured.warnings.push({ fields, message }),
    debug: () => {
      captured.debugs++;
    },
  } as unknown as Logger;
  return {
    log,
    warnings: captured.warnings,
    get debugs() {
      return captured.debugs;
    },
  };
}

const refusal = (reason: string, client = '10.0.0.5'): RefusalFields => ({ client, port: 2000, file: 'x.bin', reason, errorCode: 1 });

describe('TFTP warn lines over time (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refusals: one detailed line per (client, reason, file) per interval, a summary at its end, seen again in the next', () => {
    const captured = capturingLogger();
    const limiter = refusalWarnings(captured.log);
    for (let i = 0; i < 10; i++) limiter.note(refusal('not-found'));
    limiter.note(refusal('traversal'));
    limiter.note(refusal('not-found', '10.0.0.6'));
    expect(captured.warnings.map((each) => `${each.fields.client} ${each.fields.reason}`)).toEqual(['10.0.0.5 not-found', '10.0.0.5 traversal', '10.0.0.6 not-found']);
    expect(captured.debugs).toBe(9);
    vi.advanceTimersByTime(RATE_LIMIT_INTERVAL_MS);
    expect(captured.warnings).toHaveLength(4);
    expect(captured.warnings[3]!.fields).toMatchObject({ count: 9, byReason: { 'not-found': 9 }, clients: 1 });
    // Still failing in the next interval: seen again, once.
    limiter.note(refusal('not-found'));
    limiter.note(refusal('not-found'));
    expect(captured.warnings).toHaveLength(5);
    limiter.close();
  });

  it(`a flood: at most ${RATE_LIMIT_DETAILED_MAX} detailed lines and one summary per interval, with counts by reason`, () => {
    const captured = capturingLogger();
    const limiter = refusalWarnings(captured.log);
    for (let i = 0; i < 5000; i++) limiter.note({ ...refusal(i % 5 === 0 ? 'traversal' : 'not-found', `10.0.${i % 3}.1`), file: `f${i}` });
    expect(captured.warnings).toHaveLength(RATE_LIMIT_DETAILED_MAX);
    vi.advanceTimersByTime(RATE_LIMIT_INTERVAL_MS);
    expect(captured.warnings).toHaveLength(RATE_LIMIT_DETAILED_MAX + 1);
    const summary = captured.warnings.at(-1)!.fields as { count: number; byReason: Record<string, number>; clients: number };
    expect(summary.count).toBe(5000 - RATE_LIMIT_DETAILED_MAX);
    expect(summary.byReason['traversal']! + summary.byReason['not-found']!).toBe(5000 - RATE_LIMIT_DETAILED_MAX);
    expect(summary.clients).toBe(3);
    // The limit holds in the next interval too.
    for (let i = 0; i < 100; i++) limiter.note({ ...refusal('server-busy'), file: `g${i}` });
    expect(captured.warnings).toHaveLength(2 * RATE_LIMIT_DETAILED_MAX + 1);
    vi.advanceTimersByTime(RATE_LIMIT_INTERVAL_MS);
    expect(captured.warnings.at(-1)!.fields).toMatchObject({ count: 100 - RATE_LIMIT_DETAILED_MAX, byReason: { 'server-busy': 100 - RATE_LIMIT_DETAILED_MAX } });
    limiter.close();
  });

  it('failures: keyed by address and kind, so 600 vanished fuzz clients on 32 addresses are at most the cap plus one summary', () => {
    const captured = capturingLogger();
    const limiter = failureWarnings(captured.log);
    for (let i = 0; i < 600; i++) limiter.note({ client: `127.0.0.${(i % 32) + 2}:${40000 + i}`, file: 'big.bin', reason: 'socket error: recvmsg ECONNREFUSED', failure: 'socket-error' });
    expect(captured.warnings).toHaveLength(RATE_LIMIT_DETAILED_MAX);
    expect(new Set(captured.warnings.map((each) => String(each.fields.client).split(':')[0])).size).toBe(RATE_LIMIT_DETAILED_MAX);
    limiter.close();
    expect(captured.warnings.at(-1)!.fields).toMatchObject({ count: 600 - RATE_LIMIT_DETAILED_MAX, byReason: { 'socket-error': 600 - RATE_LIMIT_DETAILED_MAX }, clients: 32 });
    expect(captured.debugs).toBe(600 - RATE_LIMIT_DETAILED_MAX);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

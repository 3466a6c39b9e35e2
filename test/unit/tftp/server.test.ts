/**
 * The TFTP service in-process on 127.0.0.1, driven by a hand-written client
 * that can misbehave on purpose (duplicate ACKs, strangers, gaps, aborts).
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/types.js';
import type { NetbootError } from '../../../src/errors.js';
import type { LeaseInfo, LeaseView } from '../../../src/runtime/lease-view.js';
import type { Service } from '../../../src/supervisor/service.js';
import { decodePacket, encodePacket, ErrorCode, Opcode, type TftpOptions, type TftpPacket } from '../../../src/tftp/codec.js';
import { createTftpService } from '../../../src/tftp/service.js';
import { makeTestContext, testConfig, type TestContext } from '../../helpers/service-context.js';

const scratch = mkdtempSync(join(tmpdir(), `netboot-tftp-server-${process.pid}-`));
const root = join(scratch, 'root');
const root2 = join(scratch, 'root2');
mkdirSync(root);
mkdirSync(root2);
function pattern(size: number, seed = 1): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return data;
}
const small = pattern(3000);
const rollover = pattern(8 * 65536 + 100, 2); // 65,549 blocks of 8 bytes: wraps past 65535
writeFileSync(join(root, 'small.bin'), small);
writeFileSync(join(root, 'rollover.bin'), rollover);
writeFileSync(join(root2, 'small.bin'), 'from root2');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function yaml(tftpExtra = '', rest = ''): string {
  return `
server: { address: 127.0.0.1 }
dhcp: { mode: off }
tftp: { port: 0, listen: 127.0.0.1, root: ${root}, maxTransfersPerClient: 50${tftpExtra} }
http: { enabled: false }
profiles:
  inst: { loader: pxelinux, kernel: k/vmlinuz, cmdline: "console=ttyS0" }
hosts:
  - { name: node07, mac: "52:54:00:00:00:07", profile: inst, tftpBlksizeMax: 512 }
${rest}`;
}

interface Running {
  service: Service & { port: number };
  context: TestContext;
}
let running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.map(({ service }) => service.stop(0)));
  running = [];
});

async function startService(config: Config = testConfig(yaml(), join(scratch, 'lab.yaml'))): Promise<Running> {
  const context = makeTestContext(config);
  const service = createTftpService(context) as Service & { port: number };
  await service.start();
  const handle = { service, context };
  running.push(handle);
  return handle;
}

/** A scriptable TFTP client: sends what it is told, queues what arrives. */
class RawClient {
  readonly socket: Socket = createSocket('udp4');
  private readonly queue: { packet: TftpPacket; port: number }[] = [];
  private waiter: (() => void) | null = null;

  async open(): Promise<this> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    this.socket.on('message', (msg, from) => {
      this.queue.push({ packet: decodePacket(msg), port: from.port });
      this.waiter?.();
    });
    return this;
  }

  send(packet: TftpPacket, port: number): void {
    this.socket.send(encodePacket(packet).buf, port, '127.0.0.1');
  }

  rrq(port: number, filename: string, options: TftpOptions = [], mode = 'octet'): void {
    this.send({ opcode: Opcode.ReadRequest, filename, mode, options }, port);
  }

  ack(port: number, block: number): void {
    this.send({ opcode: Opcode.Ack, block: block & 0xffff }, port);
  }

  async next(timeoutMs = 5000): Promise<{ packet: TftpPacket; port: number }> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no packet arrived');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.queue.shift()!;
  }

  get pending(): number {
    return this.queue.length;
  }

  close(): void {
    this.socket.close();
  }
}

/** Sends an RRQ with `timeout 30` (so no timer fires during the test), ACKs the OACK, returns the first DATA. */
async function startRead(c: RawClient, port: number, filename: string): Promise<{ packet: TftpPacket; port: number }> {
  c.rrq(port, filename, [['timeout', '30']]);
  const oack = await c.next();
  expect(oack.packet.opcode).toBe(Opcode.OptionAck);
  c.ack(oack.port, 0);
  return c.next();
}

async function client(): Promise<RawClient> {
  return new RawClient().open();
}

/** Lock-step fetch (or windowed: ACK the last block of each window), checking every DATA's block number. */
async function fetchAll(c: RawClient, port: number, filename: string, options: TftpOptions = [], eachAckTwice = false): Promise<{ data: Buffer; tid: number; dataPackets: number }> {
  c.rrq(port, filename, options);
  let first = await c.next();
  const tid = first.port;
  const opts = new Map(options);
  let blksize = 512;
  let windowsize = 1;
  if (first.packet.opcode === Opcode.OptionAck) {
    const granted = new Map(first.packet.options);
    blksize = Number(granted.get('blksize') ?? 512);
    windowsize = Number(granted.get('windowsize') ?? 1);
    c.ack(tid, 0);
    first = await c.next();
  } else {
    expect(opts.size === 0 || !opts.has('blksize') || true).toBe(true);
  }
  const chunks: Buffer[] = [];
  let expected = 1;
  let dataPackets = 0;
  let packet = first;
  for (;;) {
    expect(packet.port).toBe(tid);
    expect(packet.packet.opcode).toBe(Opcode.Data);
    const data = packet.packet as Extract<TftpPacket, { opcode: 3 }>;
    dataPackets++;
    expect(data.block).toBe(expected & 0xffff);
    chunks.push(Buffer.from(data.data));
    const last = data.data.length < blksize;
    if (last || expected % windowsize === 0) {
      c.ack(tid, expected);
      if (eachAckTwice) c.ack(tid, expected);
    }
    if (last) break;
    expected++;
    packet = await c.next();
  }
  return { data: Buffer.concat(chunks), tid, dataPackets };
}

describe('TFTP service: transfers', () => {
  it('serves a file lock-step from a fresh TID, records start/done, counts bytes', async () => {
    const { service, context } = await startService();
    const c = await client();
    const { data, tid } = await fetchAll(c, service.port, 'small.bin');
    expect(tid).not.toBe(service.port);
    expect(data.equals(small)).toBe(true);
    await waitFor(() => (service.status() as { completed: number }).completed === 1);
    const kinds = context.events.list().map((event) => event.kind);
    expect(kinds).toEqual(['tftp.start', 'tftp.done']);
    expect(context.metrics.value('netboot_tftp_transfers_total', { outcome: 'done' })).toBe(1);
    expect(context.metrics.value('netboot_tftp_bytes_total')).toBe(small.length);
    expect(context.transfers.size).toBe(0);
    c.close();
  });

  it('negotiates blksize/windowsize/tsize in an OACK, in the client order, leaving unknown options out', async () => {
    const { service } = await startService();
    const c = await client();
    c.rrq(service.port, 'small.bin', [['windowsize', '4'], ['multicast', ''], ['tsize', '0'], ['blksize', '9000']]);
    const { packet } = await c.next();
    expect(packet).toEqual({ opcode: Opcode.OptionAck, options: [['windowsize', '4'], ['tsize', String(small.length)], ['blksize', '1468']] });
    c.close();
  });

  it('with only unknown options, starts with DATA 1 (no OACK)', async () => {
    const { service } = await startService();
    const c = await client();
    const { data } = await fetchAll(c, service.port, 'small.bin', [['foo', 'bar']]);
    expect(data.equals(small)).toBe(true);
    c.close();
  });

  it('windowed transfer with every ACK duplicated: no block is ever sent twice (no Sorcerer\'s Apprentice)', async () => {
    const { service } = await startService();
    const c = await client();
    const { data, dataPackets } = await fetchAll(c, service.port, 'small.bin', [['blksize', '100'], ['windowsize', '4'], ['timeout', '30']], true);
    expect(data.equals(small)).toBe(true);
    expect(dataPackets).toBe(31);
    await waitFor(() => (service.status() as { completed: number }).completed === 1);
    expect(service.status()).toMatchObject({ retransmits: 0 });
    c.close();
  });

  it('lock-step with duplicate ACKs: each block once', async () => {
    const { service } = await startService();
    const c = await client();
    const { data, dataPackets } = await fetchAll(c, service.port, 'small.bin', [['timeout', '30']], true);
    expect(data.equals(small)).toBe(true);
    expect(dataPackets).toBe(6);
    c.close();
  });

  it('rolls the block number over past 65535 (blksize 8, 65,549 blocks, windowsize 64)', async () => {
    const { service } = await startService();
    const c = await client();
    const { data } = await fetchAll(c, service.port, 'rollover.bin', [['blksize', '8'], ['windowsize', '64']]);
    expect(data.length).toBe(rollover.length);
    expect(data.equals(rollover)).toBe(true);
    c.close();
  });

  it('an ACK short of the window end makes the server resend from the next block (RFC 7440)', async () => {
    const { service } = await startService();
    const c = await client();
    c.rrq(service.port, 'small.bin', [['blksize', '100'], ['windowsize', '4'], ['timeout', '30']]);
    const oack = await c.next();
    c.ack(oack.port, 0);
    const blocks = [];
    for (let i = 0; i < 4; i++) blocks.push(((await c.next()).packet as { block: number }).block);
    expect(blocks).toEqual([1, 2, 3, 4]);
    c.ack(oack.port, 2); // "block 3 never arrived"
    const resent = [];
    for (let i = 0; i < 4; i++) resent.push(((await c.next()).packet as { block: number }).block);
    expect(resent).toEqual([3, 4, 5, 6]);
    c.close();
  });

  it('retransmits on timeout and counts it', async () => {
    const { service, context } = await startService();
    const c = await client();
    c.rrq(service.port, 'small.bin', [['timeout', '1']]);
    const oack = await c.next();
    c.ack(oack.port, 0);
    const first = await c.next();
    const again = await c.next(5000); // no ACK: the same block comes back after ~1 s
    expect(again.packet).toEqual(first.packet);
    c.ack(oack.port, 1);
    expect(((await c.next()).packet as { block: number }).block).toBe(2);
    c.send({ opcode: Opcode.Error, code: 0, message: 'enough' }, oack.port);
    await waitFor(() => (service.status() as { failed: number }).failed === 1);
    expect((service.status() as { retransmits: number }).retransmits).toBeGreaterThanOrEqual(1);
    expect(context.metrics.value('netboot_tftp_retransmits_total')).toBeGreaterThanOrEqual(1);
    c.close();
  });

  it('a packet from an unknown TID gets ERROR 5 and the transfer carries on', async () => {
    const { service, context } = await startService();
    const c = await client();
    const stranger = await client();
    const first = await startRead(c, service.port, 'small.bin');
    stranger.ack(first.port, 1);
    const reply = await stranger.next();
    expect(reply.packet).toMatchObject({ opcode: Opcode.Error, code: ErrorCode.UnknownTransferId });
    expect(reply.port).toBe(first.port);
    const chunks = [Buffer.from((first.packet as { data: Buffer }).data)];
    for (let block = 1; ; block++) {
      c.ack(first.port, block);
      if (chunks[chunks.length - 1]!.length < 512) break;
      chunks.push(Buffer.from(((await c.next()).packet as { data: Buffer }).data));
    }
    expect(Buffer.concat(chunks).equals(small)).toBe(true);
    await waitFor(() => (service.status() as { completed: number }).completed === 1);
    expect(service.status()).toMatchObject({ unknownTid: 1, failed: 0 });
    expect(context.metrics.value('netboot_tftp_malformed_total', { reason: 'unknown-tid' })).toBe(1);
    c.close();
    stranger.close();
  });

  it('EDK2 size probe (tsize 0, then ERROR 8) is counted as a size probe, not a failure', async () => {
    const { service, context } = await startService();
    const c = await client();
    c.rrq(service.port, 'small.bin', [['tsize', '0'], ['blksize', '1468']]);
    const oack = await c.next();
    expect(oack.packet).toEqual({ opcode: Opcode.OptionAck, options: [['tsize', '3000'], ['blksize', '1468']] });
    c.send({ opcode: Opcode.Error, code: ErrorCode.OptionsRefused, message: 'size only' }, oack.port);
    await waitFor(() => (service.status() as { sizeProbes: number }).sizeProbes === 1);
    expect(service.status()).toMatchObject({ failed: 0, sizeProbes: 1 });
    const probe = context.events.list().find((event) => event.kind === 'tftp.size-probe');
    expect(probe?.outcome).toBe('harmless');
    expect(context.metrics.value('netboot_tftp_transfers_total', { outcome: 'size-probe' })).toBe(1);
    c.close();
  });

  it('a per-host blksize cap (host.tftpBlksizeMax) and a per-firmware cap apply', async () => {
    const lease = (firmware: string | null): LeaseView => ({
      macForAddress: (address) => (address === 0x7f000001 ? '52:54:00:00:00:07' : null),
      addressForMac: () => 0x7f000001,
      list: () => [{ mac: '52:54:00:00:00:07', ip: '127.0.0.1', hostName: 'node07', state: 'bound', expiresAt: 0, reserved: true, firmware, lastSeenAt: null } satisfies LeaseInfo],
    });
    const { service, context } = await startService();
    context.registerLeaseView(lease(null));
    const c = await client();
    c.rrq(service.port, 'small.bin', [['blksize', '1468']]);
    expect((await c.next()).packet).toEqual({ opcode: Opcode.OptionAck, options: [['blksize', '512']] });
    c.close();

    const byFirmware = await startService(testConfig(yaml(', blksizeMaxByFirmware: { uefi-x64: 1024 }').replace(', tftpBlksizeMax: 512', ''), join(scratch, 'lab.yaml')));
    byFirmware.context.registerLeaseView(lease('uefi-x64'));
    const d = await client();
    d.rrq(byFirmware.service.port, 'small.bin', [['blksize', '1468']]);
    expect((await d.next()).packet).toEqual({ opcode: Opcode.OptionAck, options: [['blksize', '1024']] });
    d.close();
  });

  it('serves generated loader configs (virtual files)', async () => {
    const { service } = await startService();
    const c = await client();
    const { data } = await fetchAll(c, service.port, 'pxelinux.cfg/01-52-54-00-00-00-07');
    expect(data.toString()).toContain('KERNEL k/vmlinuz');
    c.close();
  });
});

describe('TFTP service: refusals', () => {
  it.each([
    ['../etc/passwd', 'octet', ErrorCode.AccessViolation, 'traversal'],
    ['/etc/passwd', 'octet', ErrorCode.FileNotFound, 'not-found'],
    ['..\\..\\x', 'octet', ErrorCode.AccessViolation, 'traversal'],
    ['a/../../x', 'octet', ErrorCode.AccessViolation, 'traversal'],
    ['n'.repeat(600), 'octet', ErrorCode.AccessViolation, 'name-too-long'],
    ['small.bin', 'mail', ErrorCode.IllegalOperation, 'bad-mode'],
    ['small.bin', 'binary', ErrorCode.IllegalOperation, 'bad-mode'],
  ])('%j mode %s → ERROR %i, logged as tftp.refused (%s)', async (filename, mode, errorCode, reason) => {
    const { service, context } = await startService();
    const c = await client();
    c.rrq(service.port, filename, [], mode);
    expect((await c.next()).packet).toMatchObject({ opcode: Opcode.Error, code: errorCode });
    const event = context.events.list().find((e) => e.kind === 'tftp.refused');
    expect(event).toMatchObject({ ip: '127.0.0.1', details: { reason } });
    expect(context.metrics.value('netboot_tftp_transfers_total', { outcome: 'refused' })).toBe(1);
    c.close();
  });

  it('a name with a NUL inside is refused: what follows the NUL is taken as the mode', async () => {
    const { service, context } = await startService();
    const c = await client();
    c.socket.send(Buffer.concat([Buffer.from([0, 1]), Buffer.from('small.bin\0../../etc/passwd\0', 'latin1')]), service.port, '127.0.0.1');
    expect((await c.next()).packet).toMatchObject({ opcode: Opcode.Error, code: ErrorCode.IllegalOperation });
    // With one more string it no longer parses at all: dropped and counted.
    c.socket.send(Buffer.concat([Buffer.from([0, 1]), Buffer.from('small.bin\0../../etc/passwd\0octet\0', 'latin1')]), service.port, '127.0.0.1');
    await waitFor(() => context.metrics.value('netboot_tftp_malformed_total', { reason: 'option-without-value' }) === 1);
    expect(context.events.list().filter((event) => event.kind === 'tftp.start')).toEqual([]);
    c.close();
  });

  it('write requests get ERROR 2 (read-only)', async () => {
    const { service } = await startService();
    const c = await client();
    c.send({ opcode: Opcode.WriteRequest, filename: 'up.bin', mode: 'octet', options: [] }, service.port);
    expect((await c.next()).packet).toMatchObject({ opcode: Opcode.Error, code: ErrorCode.AccessViolation });
    c.close();
  });

  it('malformed datagrams are dropped and counted by reason; the next request is served', async () => {
    const { service, context } = await startService();
    const c = await client();
    for (const junk of ['', '00', '0009', '0001616263', '000161006f6374657400626c6b73697a6500']) c.socket.send(Buffer.from(junk, 'hex'), service.port, '127.0.0.1');
    const { data } = await fetchAll(c, service.port, 'small.bin');
    expect(data.equals(small)).toBe(true);
    expect(context.metrics.value('netboot_tftp_malformed_total', { reason: 'truncated' })).toBe(2);
    expect(context.metrics.value('netboot_tftp_malformed_total', { reason: 'bad-opcode' })).toBe(1);
    expect(context.metrics.value('netboot_tftp_malformed_total', { reason: 'unterminated-string' })).toBe(1);
    expect(context.metrics.value('netboot_tftp_malformed_total', { reason: 'option-without-value' })).toBe(1);
    c.close();
  });

  it('over maxTransfers: a clean ERROR, and the running transfer is undisturbed', async () => {
    const { service } = await startService(testConfig(yaml(', maxTransfers: 1'), join(scratch, 'lab.yaml')));
    const a = await client();
    const b = await client();
    const first = await startRead(a, service.port, 'small.bin');
    b.rrq(service.port, 'small.bin');
    expect((await b.next()).packet).toMatchObject({ opcode: Opcode.Error, code: ErrorCode.NotDefined });
    a.ack(first.port, 1);
    expect(((await a.next()).packet as { block: number }).block).toBe(2);
    a.close();
    b.close();
  });

  it('over maxTransfersPerClient: a clean ERROR', async () => {
    const { service } = await startService(testConfig(yaml().replace('maxTransfersPerClient: 50', 'maxTransfersPerClient: 1'), join(scratch, 'lab.yaml')));
    const a = await client();
    const b = await client();
    a.rrq(service.port, 'small.bin', [['timeout', '30']]);
    await a.next();
    b.rrq(service.port, 'small.bin');
    expect((await b.next()).packet).toMatchObject({ opcode: Opcode.Error, code: ErrorCode.NotDefined, message: expect.stringContaining('client') });
    a.close();
    b.close();
  });
});

describe('TFTP service: lifecycle', () => {
  it('start rejects with NETBOOT_ERR_BIND_IN_USE when the port is taken', async () => {
    const { service } = await startService();
    const context = makeTestContext(testConfig(yaml().replace('port: 0', `port: ${service.port}`), join(scratch, 'lab.yaml')));
    const second = createTftpService(context);
    await expect(second.start()).rejects.toMatchObject({ code: 'NETBOOT_ERR_BIND_IN_USE' } satisfies Partial<NetbootError>);
  });

  it('a stopped service can be started again and serves', async () => {
    const { service } = await startService();
    await service.stop(0);
    await service.start();
    const c = await client();
    expect((await fetchAll(c, service.port, 'small.bin')).data.equals(small)).toBe(true);
    c.close();
  });

  it('describe() names the bound address', async () => {
    const { service } = await startService();
    expect(service.describe()).toBe(`udp 127.0.0.1:${service.port}`);
  });

  it('portRange: transfer ports come from the range', async () => {
    const base = 40000 + (process.pid % 2000) * 10;
    const { service } = await startService(testConfig(yaml(`, portRange: ${base}-${base + 3}`), join(scratch, 'lab.yaml')));
    const c = await client();
    const { tid, data } = await fetchAll(c, service.port, 'small.bin');
    expect(tid).toBeGreaterThanOrEqual(base);
    expect(tid).toBeLessThanOrEqual(base + 3);
    expect(data.equals(small)).toBe(true);
    c.close();
  });

  it('reload applies a new root to new transfers only', async () => {
    const { service, context } = await startService();
    const c = await client();
    const first = await startRead(c, service.port, 'small.bin');
    const next = testConfig(yaml().replace(`root: ${root}`, `root: ${root2}`), join(scratch, 'lab.yaml'));
    context.setConfig(next);
    await service.reload(next);
    // The running transfer keeps its file.
    c.ack(first.port, 1);
    expect(((await c.next()).packet as { data: Buffer }).data.equals(small.subarray(512, 1024))).toBe(true);
    const d = await client();
    expect((await fetchAll(d, service.port, 'small.bin')).data.toString()).toBe('from root2');
    c.close();
    d.close();
  });

  it('stop(drainMs) ends a stalled transfer with an ERROR after the drain time', async () => {
    const { service } = await startService();
    const c = await client();
    c.rrq(service.port, 'small.bin', [['timeout', '30']]);
    await c.next();
    await service.stop(100);
    expect((await c.next()).packet).toMatchObject({ opcode: Opcode.Error, code: ErrorCode.NotDefined });
    expect(service.status()).toMatchObject({ active: 0, failed: 1, listening: null });
    c.close();
  });

  it('stop(drainMs) lets a transfer finish within the drain time', async () => {
    const { service } = await startService();
    const c = await client();
    const first = await startRead(c, service.port, 'small.bin');
    const stopped = service.stop(10_000);
    for (let block = 1; block <= 6; block++) {
      c.ack(first.port, block);
      if (block < 6) await c.next();
    }
    await stopped;
    expect(service.status()).toMatchObject({ completed: 1, failed: 0 });
    c.close();
  });
});

describe('TFTP service: accounting (every request counted, a done transfer is done)', () => {
  it('an RRQ repeated from a client port whose transfer runs is counted as a duplicate, not a second transfer', async () => {
    const { service, context } = await startService();
    const c = await client();
    const first = await startRead(c, service.port, 'small.bin');
    for (let i = 0; i < 4; i++) c.rrq(service.port, 'small.bin', [['timeout', '30']]);
    await waitFor(() => (service.status() as { duplicates: number }).duplicates === 4);
    expect(context.metrics.value('netboot_tftp_duplicate_requests_total')).toBe(4);
    expect(service.status()).toMatchObject({ started: 1, refused: 0 });
    // No second transfer answered from another TID: the running one goes on.
    c.ack(first.port, 1);
    const next = await c.next();
    expect(next.port).toBe(first.port);
    expect(next.packet).toMatchObject({ opcode: Opcode.Data, block: 2 });
    expect(c.pending).toBe(0);
    c.close();
  });

  it('gap 11: an RRQ from the same port once only the final ACK is missing is a new request, served at once from a new TID', async () => {
    // The overload stall: a client got every block but its final ACK never left, and a new client (or the same
    // one) asked again from that port. The RRQ was ignored as a duplicate while the old transfer waited for its
    // final ACK, so the only packet the new request got was the old transfer's resent last block.
    const { service } = await startService();
    const c = await client();
    const first = await startRead(c, service.port, 'small.bin'); // timeout 30: no resend can come during the test
    expect(first.packet).toMatchObject({ opcode: Opcode.Data, block: 1 });
    for (let block = 1; block < 6; block++) {
      c.ack(first.port, block);
      expect((await c.next()).packet).toMatchObject({ opcode: Opcode.Data, block: block + 1 });
    }
    // Block 6 (the last, 440 bytes) arrived; its ACK is "lost". Same port, new request:
    c.rrq(service.port, 'small.bin', [['blksize', '1024']]);
    const reply = await c.next();
    expect(reply.packet).toMatchObject({ opcode: Opcode.OptionAck, options: [['blksize', '1024']] });
    expect(reply.port).not.toBe(first.port);
    await waitFor(() => (service.status() as { completedWithoutFinalAck: number }).completedWithoutFinalAck === 1);
    expect(service.status()).toMatchObject({ started: 2, completed: 1, failed: 0, duplicates: 0 });
    c.ack(reply.port, 0);
    for (let block = 1; block <= 3; block++) {
      const data = await c.next();
      expect(data.port).toBe(reply.port);
      expect(data.packet).toMatchObject({ opcode: Opcode.Data, block });
      c.ack(reply.port, block);
    }
    await waitFor(() => (service.status() as { completed: number }).completed === 2);
    expect(service.status()).toMatchObject({ started: 2, completedWithoutFinalAck: 1, failed: 0, active: 0 });
    c.close();
  });

  it('EDK2 asking again from the same port right after its size probe gets a new transfer, not a duplicate', async () => {
    const { service } = await startService();
    const c = await client();
    c.rrq(service.port, 'small.bin', [['tsize', '0']]);
    const probe = await c.next();
    expect(probe.packet).toMatchObject({ opcode: Opcode.OptionAck, options: [['tsize', '3000']] });
    c.send({ opcode: Opcode.Error, code: ErrorCode.OptionsRefused, message: 'probe' }, probe.port);
    // At once, while the probed transfer's port still lingers (PORT_LINGER_MS).
    c.rrq(service.port, 'small.bin', [['timeout', '30']]);
    const reply = await c.next();
    expect(reply.packet).toMatchObject({ opcode: Opcode.OptionAck, options: [['timeout', '30']] });
    expect(reply.port).not.toBe(probe.port);
    c.ack(reply.port, 0);
    expect((await c.next()).packet).toMatchObject({ opcode: Opcode.Data, block: 1 });
    await waitFor(() => (service.status() as { sizeProbes: number }).sizeProbes === 1);
    expect(service.status()).toMatchObject({ started: 2, duplicates: 0, failed: 0 });
    c.close();
  });

  it('refusals are counted by a closed set of reasons (status and netboot_tftp_refused_total{reason})', async () => {
    const { service, context } = await startService();
    const c = await client();
    for (const [name, mode] of [['../x', 'octet'], ['nope.bin', 'octet'], ['gone.bin', 'octet'], ['small.bin', 'mail']] as const) {
      c.rrq(service.port, name, [], mode);
      expect((await c.next()).packet).toMatchObject({ opcode: Opcode.Error });
    }
    c.send({ opcode: Opcode.WriteRequest, filename: 'up.bin', mode: 'octet', options: [] }, service.port);
    await c.next();
    expect((service.status() as { refusedByReason: Record<string, number> }).refusedByReason).toEqual({ traversal: 1, 'not-found': 2, 'bad-mode': 1, 'write-request': 1 });
    expect(context.metrics.value('netboot_tftp_refused_total', { reason: 'not-found' })).toBe(2);
    expect(context.metrics.value('netboot_tftp_refused_total', { reason: 'write-request' })).toBe(1);
    expect(context.metrics.value('netboot_tftp_transfers_total', { outcome: 'refused' })).toBe(5);
    c.close();
  });

  it('all blocks sent, all but the last ACKed, then the client closes its port: done without the final ACK', async () => {
    const { service, context } = await startService();
    const c = await client();
    c.rrq(service.port, 'small.bin', [['timeout', '1']]);
    const oack = await c.next();
    c.ack(oack.port, 0);
    // 3000 bytes: blocks 1-5 of 512 and a short block 6. ACK 1-5, take 6, never ACK it (the final ACK is "lost").
    for (let block = 1; block <= 6; block++) {
      const data = await c.next();
      expect(data.packet).toMatchObject({ opcode: Opcode.Data, block });
      if (block < 6) c.ack(oack.port, block);
    }
    c.close(); // the server's resend of block 6 meets a closed port (ICMP port unreachable: ECONNREFUSED)
    await waitFor(() => (service.status() as { completed: number }).completed === 1, 8000);
    expect(service.status()).toMatchObject({ completed: 1, completedWithoutFinalAck: 1, failed: 0 });
    expect(context.metrics.value('netboot_tftp_transfers_total', { outcome: 'done' })).toBe(1);
    expect(context.metrics.value('netboot_tftp_bytes_total')).toBe(small.length);
    expect(context.events.list().map((event) => event.kind)).toEqual(['tftp.start', 'tftp.done']);
  });

  it('the final ACK lost and the client silent (no dallying): done after the retries, not failed', async () => {
    const { service } = await startService(testConfig(yaml(', retries: 1'), join(scratch, 'lab.yaml')));
    const c = await client();
    c.rrq(service.port, 'small.bin', [['timeout', '1']]);
    const oack = await c.next();
    c.ack(oack.port, 0);
    for (let block = 1; block <= 6; block++) {
      await c.next();
      if (block < 6) c.ack(oack.port, block);
    }
    await waitFor(() => (service.status() as { completed: number }).completed === 1, 10_000);
    expect(service.status()).toMatchObject({ completedWithoutFinalAck: 1, failed: 0 });
    c.close();
  }, 15_000);

  it('windowed: the final window sent, its one ACK lost, the client silent: done without the final ACK', async () => {
    const { service } = await startService(testConfig(yaml(', retries: 1'), join(scratch, 'lab.yaml')));
    const c = await client();
    c.rrq(service.port, 'small.bin', [['timeout', '1'], ['windowsize', '4']]);
    const oack = await c.next();
    c.ack(oack.port, 0);
    // 6 blocks: window 1-4 (ACK 4), window 5-6 (its one ACK "lost"): nothing of the final window is acknowledged.
    for (let block = 1; block <= 6; block++) {
      await c.next();
      if (block === 4) c.ack(oack.port, 4);
    }
    await waitFor(() => (service.status() as { completed: number }).completed === 1, 10_000);
    expect(service.status()).toMatchObject({ completedWithoutFinalAck: 1, failed: 0 });
    c.close();
  }, 15_000);

  it('a client that stops ACKing in the middle still fails (only the final ACK may be missing)', async () => {
    const { service } = await startService(testConfig(yaml(', retries: 1'), join(scratch, 'lab.yaml')));
    const c = await client();
    c.rrq(service.port, 'small.bin', [['timeout', '1']]);
    const oack = await c.next();
    c.ack(oack.port, 0);
    for (let block = 1; block <= 4; block++) {
      await c.next();
      if (block < 4) c.ack(oack.port, block);
    }
    await waitFor(() => (service.status() as { failed: number }).failed === 1, 10_000);
    expect(service.status()).toMatchObject({ completed: 0, completedWithoutFinalAck: 0 });
    c.close();
  }, 15_000);
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

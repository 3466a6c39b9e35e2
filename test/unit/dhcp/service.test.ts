/**
 * The DHCP service in-process on loopback (unprivileged port): sockets,
 * journal, events, metrics and the lease view wired together. The test
 * client plays a relay at 127.0.71.2 (giaddr), so replies come back to it
 * by unicast.
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MessageType } from '../../../src/dhcp/codec/constants.js';
import { decodePacket, encodePacket, messageTypeOf, type DhcpPacket } from '../../../src/dhcp/codec/packet.js';
import { createDhcpService } from '../../../src/dhcp/service.js';
import { formatIpv4 } from '../../../src/net/ipv4.js';
import type { Service } from '../../../src/supervisor/service.js';
import { makeTestContext, testConfig, type TestContext } from '../../helpers/service-context.js';
import { discover, request } from './helpers.js';
import { freePort } from '../../helpers/ports.js';

const RELAY = '127.0.71.2';
const dir = mkdtempSync(join(tmpdir(), 'netboot-dhcp-service-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));


function yaml(port: number, leaseFile: string): string {
  return `
server: { address: 127.0.0.1 }
dhcp:
  mode: authoritative
  port: ${port}
  subnet: 127.0.0.0/8
  pool: 127.0.71.10-127.0.71.12
  leaseTime: 1h
  leaseFile: ${leaseFile}
tftp: { enabled: false }
http: { enabled: false }
profiles:
  local: { localboot: true }
hosts:
  - { name: fixed, mac: "02-00-00-00-71-FF", ip: 127.0.71.50, profile: local }
defaultProfile: local
`;
}

class Relay {
  private readonly replies: DhcpPacket[] = [];
  private waiter: (() => void) | null = null;
  private constructor(readonly socket: Socket, readonly serverPort: number) {}

  static async open(port: number): Promise<Relay> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve) => socket.bind(port, RELAY, resolve));
    const relay = new Relay(socket, port);
    socket.on('message', (data) => {
      relay.replies.push(decodePacket(data));
      relay.waiter?.();
    });
    return relay;
  }

  async send(packet: DhcpPacket | Buffer): Promise<void> {
    const bytes = Buffer.isBuffer(packet) ? packet : encodePacket(packet);
    await new Promise<void>((resolve, reject) => this.socket.send(bytes, this.serverPort, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  }

  async next(xid: number, timeoutMs = 3000): Promise<DhcpPacket> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.replies.findIndex((reply) => reply.xid === xid);
      if (index !== -1) return this.replies.splice(index, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`no reply for xid ${xid}`);
      await new Promise<void>((resolve) => { this.waiter = resolve; setTimeout(resolve, 50); });
    }
  }

  async dora(mac: string, xid: number): Promise<{ offer: DhcpPacket; ack: DhcpPacket }> {
    await this.send(discover(mac, { giaddr: RELAY, xid }));
    const offer = await this.next(xid);
    await this.send(request(mac, { giaddr: RELAY, xid, requested: formatIpv4(offer.yiaddr), serverId: '127.0.0.1' }));
    return { offer, ack: await this.next(xid) };
  }

  close(): void {
    try { this.socket.close(); } catch { /* already closed */ }
  }
}

describe('DHCP service on loopback', () => {
  let port: number;
  let leaseFile: string;
  let context: TestContext;
  let service: Service;
  let relay: Relay;
  const extra: Service[] = [];

  beforeAll(async () => {
    port = await freePort('udp');
    leaseFile = join(dir, 'main', 'leases.json');
    context = makeTestContext(testConfig(yaml(port, leaseFile)));
    service = createDhcpService(context);
    await service.start();
    relay = await Relay.open(port);
  });

  afterAll(async () => {
    relay?.close();
    await service?.stop(1000);
  });

  afterEach(async () => {
    for (const other of extra.splice(0)) await other.stop(100);
  });

  it('describes where it listens', () => {
    expect(service.describe()).toContain(`udp 0.0.0.0:${port}`);
    expect(service.describe()).toContain(`replies from 127.0.0.1:${port}`);
  });

  it('completes a relayed DORA, and the lease is on disk by the time the ACK arrives', async () => {
    const { offer, ack } = await relay.dora('02:00:00:00:71:01', 0x7101);
    expect(messageTypeOf(offer)).toBe(MessageType.Offer);
    expect(messageTypeOf(ack)).toBe(MessageType.Ack);
    const address = formatIpv4(ack.yiaddr);
    expect(address).toMatch(/^127\.0\.71\.1[0-2]$/);
    expect(readFileSync(leaseFile, 'utf8')).toContain(`"mac":"02:00:00:00:71:01","ip":"${address}","state":"bound"`);
    expect(context.leases().addressForMac('02:00:00:00:71:01')).toBe(ack.yiaddr);
    expect(context.leases().macForAddress(ack.yiaddr)).toBe('02:00:00:00:71:01');
    expect(context.events.list({ mac: '02:00:00:00:71:01' }).map((event) => event.kind)).toEqual(['dhcp.offer', 'dhcp.ack']);
    const metrics = context.metrics.render();
    expect(metrics).toContain('netboot_dhcp_messages_total{type="discover"} 1');
    expect(metrics).toContain('netboot_dhcp_messages_total{type="ack"} 1');
    expect(metrics).toContain('netboot_dhcp_leases{state="bound"} 1');
    expect(metrics).toMatch(/netboot_dhcp_pool_free 2\n/);
  });

  it('the lease view names reserved hosts before they have leased', () => {
    expect(context.leases().macForAddress(0x7f004732)).toBe('02:00:00:00:71:ff');
  });

  it('drops malformed packets with a counted reason and keeps serving', async () => {
    await relay.send(Buffer.alloc(100));
    const bad = encodePacket(discover('02:00:00:00:71:02', { giaddr: RELAY, xid: 0x7102 }));
    bad.writeUInt32BE(0, 236);
    await relay.send(bad);
    const { ack } = await relay.dora('02:00:00:00:71:03', 0x7103);
    expect(messageTypeOf(ack)).toBe(MessageType.Ack);
    const metrics = context.metrics.render();
    expect(metrics).toContain('netboot_dhcp_dropped_total{reason="truncated"} 1');
    expect(metrics).toContain('netboot_dhcp_dropped_total{reason="bad-cookie"} 1');
  });

  it('refuses a second server on the same port with a clear error', async () => {
    const other = createDhcpService(makeTestContext(testConfig(yaml(port, join(dir, 'other', 'leases.json')))));
    extra.push(other);
    await expect(other.start()).rejects.toMatchObject({ code: 'NETBOOT_ERR_BIND_IN_USE' });
  });

  it('a restarted service gives the same client the same address, and status() shows it', async () => {
    const path = join(dir, 'restart', 'leases.json');
    const restartPort = await freePort('udp');
    const first = createDhcpService(makeTestContext(testConfig(yaml(restartPort, path))));
    await first.start();
    let client = await Relay.open(restartPort);
    try {
      const before = formatIpv4((await client.dora('02:00:00:00:71:04', 0x7104)).ack.yiaddr);
      // The test's relay shares the port number; it steps aside while the server binds (the bind probe would see it).
      client.close();
      await first.stop(500);
      const secondContext = makeTestContext(testConfig(yaml(restartPort, path)));
      const second = createDhcpService(secondContext);
      extra.push(second);
      await second.start();
      client = await Relay.open(restartPort);
      expect(formatIpv4((await client.dora('02:00:00:00:71:05', 0x7105)).ack.yiaddr)).not.toBe(before);
      expect(formatIpv4((await client.dora('02:00:00:00:71:04', 0x7106)).ack.yiaddr)).toBe(before);
      expect(second.status()).toMatchObject({ mode: 'authoritative', leases: { bound: 2 }, pools: [{ subnet: '127.0.0.0/8', size: 3 }] });
    } finally {
      client.close();
    }
  });

  it('starts on a damaged lease file: keeps the good records, keeps a copy, records an event', async () => {
    const path = join(dir, 'damaged', 'leases.json');
    const damagedPort = await freePort('udp');
    const first = createDhcpService(makeTestContext(testConfig(yaml(damagedPort, path))));
    await first.start();
    let client = await Relay.open(damagedPort);
    try {
      const kept = formatIpv4((await client.dora('02:00:00:00:71:06', 0x7107)).ack.yiaddr);
      client.close();
      await first.stop(500);
      writeFileSync(path, `${readFileSync(path, 'utf8')}\u0000\u0001garbage{"mac":`);
      const secondContext = makeTestContext(testConfig(yaml(damagedPort, path)));
      const second = createDhcpService(secondContext);
      extra.push(second);
      await second.start();
      client = await Relay.open(damagedPort);
      expect(secondContext.events.list().map((event) => event.kind)).toContain('state.error');
      expect(readdirSync(join(dir, 'damaged')).some((name) => name.startsWith('leases.json.damaged-'))).toBe(true);
      expect(formatIpv4((await client.dora('02:00:00:00:71:06', 0x7108)).ack.yiaddr)).toBe(kept);
    } finally {
      client.close();
    }
  });

  it('takes a reloaded config without rebinding: a new reservation applies at once', async () => {
    const before = formatIpv4((await relay.dora('02:00:00:00:71:07', 0x7109)).ack.yiaddr);
    expect(before).not.toBe('127.0.71.60');
    const next = testConfig(yaml(port, leaseFile).replace('hosts:\n', 'hosts:\n  - { name: late, mac: "02:00:00:00:71:07", ip: 127.0.71.60, profile: local }\n'));
    context.setConfig(next);
    await service.reload(next);
    const renewal = await (async () => {
      await relay.send(request('02:00:00:00:71:07', { giaddr: RELAY, xid: 0x710a, ciaddr: before }));
      return relay.next(0x710a);
    })();
    expect(messageTypeOf(renewal)).toBe(MessageType.Nak);
    expect(formatIpv4((await relay.dora('02:00:00:00:71:07', 0x710b)).ack.yiaddr)).toBe('127.0.71.60');
  });

  it('a lease file that cannot be opened does not stop DHCP: it starts degraded, ACKs nothing it cannot write, shows it, and recovers by itself', async () => {
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, 'a file where a folder should be');
    const otherPort = await freePort('udp');
    const brokenContext = makeTestContext(testConfig(yaml(otherPort, join(blocker, 'leases.json'))));
    const broken = createDhcpService(brokenContext);
    extra.push(broken);
    await broken.start();
    const otherRelay = await Relay.open(otherPort);
    try {
      const status = broken.status() as { leaseFile: { writable: boolean; error: { message: string } | null }; persistErrors: number };
      expect(status.leaseFile.writable).toBe(false);
      expect(status.leaseFile.error?.message).toMatch(/ENOTDIR|not a directory/i);
      expect(brokenContext.metrics.render()).toMatch(/netboot_dhcp_lease_file_writable 0/);
      // An OFFER costs no disk; the ACK of a new lease would promise what cannot be written: not sent.
      await otherRelay.send(discover('02:00:00:00:71:40', { giaddr: RELAY, xid: 0x7140 }));
      const offer = await otherRelay.next(0x7140);
      await otherRelay.send(request('02:00:00:00:71:40', { giaddr: RELAY, xid: 0x7140, requested: formatIpv4(offer.yiaddr), serverId: '127.0.0.1' }));
      await expect(otherRelay.next(0x7140, 500)).rejects.toThrow(/no reply/);
      // /api/events must not claim an ACK that never left.
      const acks = brokenContext.events.list({ mac: '02:00:00:00:71:40' }).filter((event) => event.kind === 'dhcp.ack');
      expect(acks.map((event) => event.outcome)).toEqual(['failure']);
      expect(acks[0]!.message).toMatch(/not sent/);
      rmSync(blocker);
      // The retry timer (DHCP_STATE_RETRY_MS) reopens it; a client's own retries would too.
      const deadline = Date.now() + 20_000;
      while ((broken.status() as { leaseFile: { writable: boolean } }).leaseFile.writable === false && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(formatIpv4((await otherRelay.dora('02:00:00:00:71:40', 0x7141)).ack.yiaddr)).toMatch(/^127\.0\.71\./);
      expect(readFileSync(join(blocker, 'leases.json'), 'utf8')).toContain('02:00:00:00:71:40');
    } finally {
      otherRelay.close();
    }
  }, 30_000);

  it('is off when the config says off, and binds nothing', async () => {
    const off = createDhcpService(makeTestContext(testConfig(yaml(port, join(dir, 'off', 'leases.json')).replace('mode: authoritative', 'mode: off'))));
    await off.start();
    expect(off.describe()).toBe('off');
    expect(existsSync(join(dir, 'off'))).toBe(false);
    await off.stop(0);
  });
});

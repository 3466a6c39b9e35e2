/**
 * A pool of simulated DHCP clients on one UDP socket, for the reliability
 * tests: many clients (one chaddr each) doing DORA, renew, release and
 * INIT-REBOOT, recording every ACK and NAK they saw. It runs inside a test's
 * client network namespace (`ip netns exec NS node dist/tools/dhcp-client-pool.js`),
 * driven by JSON lines on stdin, and reports on stdout as JSON lines: one
 * `{"event":"ack",...}` the moment each ACK arrives (so a test that kills the
 * server knows exactly which ACKs reached a client), and one `{"id":N,...}`
 * result per command.
 *
 * Two ways to reach the server:
 * - `direct`: as a real client: port 68, broadcast flag on DISCOVER and
 *   INIT-REBOOT, renewals unicast with ciaddr. The test makes the pool range
 *   local in the client namespace (`ip route add local … dev lo`) so the
 *   server's unicast replies to ciaddr are delivered here.
 * - `relay`: as perfdhcp does: giaddr = our address, replies come to port 67.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createInterface } from 'node:readline';
import {
  MessageType, Option, buildClientMessage, bufferToIp, bufferToMac, decodeDhcpMessage, ipToBuffer, messageTypeOf, optionValue,
  type DhcpMessage,
} from './fuzz/dhcp-wire.js';

export interface PoolOptions {
  /** Where client messages are sent: the server's address or the subnet broadcast address. */
  sendTo: string;
  serverPort: number;
  clientPort: number;
  mode: 'direct' | 'relay';
  /** Our address, used as giaddr in relay mode. */
  relayAddress?: string;
  /** First wait for a reply; doubled per retry (RFC 2131 §4.1 backs off too, from 4 s). */
  timeoutMs: number;
  retries: number;
}

export type AckKind = 'dora' | 'renew' | 'init-reboot';

export interface AckRecord {
  mac: string;
  ip: string;
  kind: AckKind;
  xid: number;
  leaseTimeS: number | null;
  serverId: string | null;
  /** Milliseconds since the epoch, when the ACK arrived. */
  at: number;
}

export interface NakRecord {
  mac: string;
  kind: AckKind;
  requested: string;
  at: number;
}

/** An address ACKed to a client while another client still held it: the one thing that must never happen. */
export interface Conflict {
  ip: string;
  heldBy: string;
  ackedTo: string;
  at: number;
}

export type Outcome = { type: 'ack'; ip: string } | { type: 'nak' } | { type: 'none' };

interface Waiter {
  mac: string;
  types: number[];
  resolve: (message: DhcpMessage | null) => void;
}

export class DhcpClientPool {
  readonly acks: AckRecord[] = [];
  readonly naks: NakRecord[] = [];
  readonly conflicts: Conflict[] = [];
  /** What each client believes it holds: mac → address. */
  readonly held = new Map<string, string>();
  /** Reverse of `held`, to spot an address ACKed to a second holder. */
  private readonly holderOf = new Map<string, string>();
  private readonly waiters = new Map<number, Waiter>();
  private nextXid = (Math.random() * 0x7fffffff) >>> 0;
  repliesIgnored = 0;
  onAck: ((record: AckRecord) => void) | null = null;

  private constructor(private readonly socket: Socket, readonly options: PoolOptions) {
    socket.on('message', (packet) => this.receive(packet));
  }

  static async open(options: PoolOptions): Promise<DhcpClientPool> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.mode === 'relay' ? options.serverPort : options.clientPort, '0.0.0.0', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.setBroadcast(true);
    socket.setRecvBufferSize(4 * 1024 * 1024);
    return new DhcpClientPool(socket, options);
  }

  close(): void {
    for (const waiter of this.waiters.values()) waiter.resolve(null);
    this.waiters.clear();
    this.socket.close();
  }

  private receive(packet: Buffer): void {
    const message = decodeDhcpMessage(packet);
    if (!message || message.op !== 2) { this.repliesIgnored++; return; }
    const waiter = this.waiters.get(message.xid);
    const type = messageTypeOf(message);
    if (!waiter || type === null || !waiter.types.includes(type) || bufferToMac(message.chaddr) !== waiter.mac) {
      this.repliesIgnored++;
      return;
    }
    this.waiters.delete(message.xid);
    waiter.resolve(message);
  }

  private giaddr(): string | undefined {
    return this.options.mode === 'relay' ? this.options.relayAddress : undefined;
  }

  /** Sends `build(xid)` and waits for a reply of one of `types`, retrying with backoff. The xid stays the same across retries (RFC 2131 §4.4.1). */
  private async exchange(mac: string, types: number[], build: (xid: number) => Buffer, destination = this.options.sendTo): Promise<DhcpMessage | null> {
    const xid = (this.nextXid = (this.nextXid + 1) >>> 0);
    let timeoutMs = this.options.timeoutMs;
    for (let attempt = 0; attempt <= this.options.retries; attempt++) {
      const reply = await new Promise<DhcpMessage | null>((resolve) => {
        const timer = setTimeout(() => {
          this.waiters.delete(xid);
          resolve(null);
        }, timeoutMs);
        this.waiters.set(xid, { mac, types, resolve: (message) => { clearTimeout(timer); resolve(message); } });
        this.socket.send(build(xid), this.options.serverPort, destination, (error) => {
          if (error) { /* a send error is a lost packet: the retry covers it */ }
        });
      });
      if (reply) return reply;
      timeoutMs *= 2;
    }
    return null;
  }

  private record(mac: string, kind: AckKind, message: DhcpMessage): string {
    const ip = message.yiaddr;
    const leaseTime = optionValue(message, Option.LeaseTime);
    const serverId = optionValue(message, Option.ServerId);
    const record: AckRecord = {
      mac, ip, kind, xid: message.xid,
      leaseTimeS: leaseTime?.length === 4 ? leaseTime.readUInt32BE(0) : null,
      serverId: serverId?.length === 4 ? bufferToIp(serverId) : null,
      at: Date.now(),
    };
    const holder = this.holderOf.get(ip);
    if (holder !== undefined && holder !== mac) this.conflicts.push({ ip, heldBy: holder, ackedTo: mac, at: record.at });
    const previous = this.held.get(mac);
    if (previous !== undefined && previous !== ip && this.holderOf.get(previous) === mac) this.holderOf.delete(previous);
    this.held.set(mac, ip);
    this.holderOf.set(ip, mac);
    this.acks.push(record);
    this.onAck?.(record);
    return ip;
  }

  private forget(mac: string): void {
    const ip = this.held.get(mac);
    if (ip !== undefined && this.holderOf.get(ip) === mac) this.holderOf.delete(ip);
    this.held.delete(mac);
  }

  /** DISCOVER → OFFER → REQUEST (selecting) → ACK. */
  async dora(mac: string): Promise<Outcome> {
    const broadcast = this.options.mode === 'direct';
    const offer = await this.exchange(mac, [MessageType.Offer], (xid) => buildClientMessage({
      type: MessageType.Discover, mac, xid, broadcast, giaddr: this.giaddr(),
      options: [[Option.ParameterList, Buffer.from([1, 3, 6, 51, 54])]],
    }));
    if (!offer) return { type: 'none' };
    const serverId = optionValue(offer, Option.ServerId);
    const reply = await this.exchange(mac, [MessageType.Ack, MessageType.Nak], (xid) => buildClientMessage({
      type: MessageType.Request, mac, xid, broadcast, giaddr: this.giaddr(),
      options: [
        [Option.RequestedAddress, ipToBuffer(offer.yiaddr)],
        ...(serverId ? [[Option.ServerId, serverId] as [number, Buffer]] : []),
        [Option.ParameterList, Buffer.from([1, 3, 6, 51, 54])],
      ],
    }));
    return this.conclude(mac, 'dora', offer.yiaddr, reply);
  }

  /** RENEWING (RFC 2131 §4.3.2): ciaddr set, no 50/54, unicast to the server. */
  async renew(mac: string, serverAddress: string): Promise<Outcome> {
    const ip = this.held.get(mac);
    if (ip === undefined) return { type: 'none' };
    const reply = await this.exchange(mac, [MessageType.Ack, MessageType.Nak], (xid) => buildClientMessage({
      type: MessageType.Request, mac, xid, ciaddr: ip, giaddr: this.giaddr(),
    }), serverAddress);
    return this.conclude(mac, 'renew', ip, reply);
  }

  /** INIT-REBOOT (RFC 2131 §4.3.2): option 50 = the remembered address, no 54, ciaddr 0, broadcast. */
  async initReboot(mac: string, ip: string): Promise<Outcome> {
    const reply = await this.exchange(mac, [MessageType.Ack, MessageType.Nak], (xid) => buildClientMessage({
      type: MessageType.Request, mac, xid, broadcast: this.options.mode === 'direct', giaddr: this.giaddr(),
      options: [[Option.RequestedAddress, ipToBuffer(ip)]],
    }));
    return this.conclude(mac, 'init-reboot', ip, reply);
  }

  /** RELEASE: no reply is sent (RFC 2131 §4.4.6), so it is sent twice to survive one loss; the client forgets the lease at once. */
  async release(mac: string, serverAddress: string): Promise<void> {
    const ip = this.held.get(mac);
    if (ip === undefined) return;
    this.forget(mac);
    const xid = (this.nextXid = (this.nextXid + 1) >>> 0);
    const packet = buildClientMessage({
      type: MessageType.Release, mac, xid, ciaddr: ip, giaddr: this.giaddr(),
      options: [[Option.ServerId, ipToBuffer(serverAddress)]],
    });
    await new Promise<void>((resolve) => this.socket.send(packet, this.options.serverPort, serverAddress, () => resolve()));
  }

  private conclude(mac: string, kind: AckKind, requested: string, reply: DhcpMessage | null): Outcome {
    if (!reply) return { type: 'none' };
    if (messageTypeOf(reply) === MessageType.Nak) {
      this.naks.push({ mac, kind, requested, at: Date.now() });
      if (this.held.get(mac) === requested) this.forget(mac);
      return { type: 'nak' };
    }
    return { type: 'ack', ip: this.record(mac, kind, reply) };
  }
}

// ---- command-line driver: JSON lines in, JSON lines out -------------------

interface Command {
  id: number;
  op: 'dora' | 'renew' | 'init-reboot' | 'release' | 'state' | 'quit';
  mac?: string;
  ip?: string;
  server?: string;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as Partial<PoolOptions>;
  const pool = await DhcpClientPool.open({
    sendTo: options.sendTo ?? '255.255.255.255',
    serverPort: options.serverPort ?? 67,
    clientPort: options.clientPort ?? 68,
    mode: options.mode ?? 'direct',
    relayAddress: options.relayAddress,
    timeoutMs: options.timeoutMs ?? 500,
    retries: options.retries ?? 4,
  });
  const write = (value: unknown): void => { process.stdout.write(`${JSON.stringify(value)}\n`); };
  pool.onAck = (record) => write({ event: 'ack', ...record });
  write({ event: 'ready' });
  const lines = createInterface({ input: process.stdin });
  const pending = new Set<Promise<void>>();
  for await (const line of lines) {
    if (!line.trim()) continue;
    const command = JSON.parse(line) as Command;
    if (command.op === 'quit') break;
    const run = (async () => {
      let result: unknown;
      switch (command.op) {
        case 'dora': result = await pool.dora(command.mac!); break;
        case 'renew': result = await pool.renew(command.mac!, command.server!); break;
        case 'init-reboot': result = await pool.initReboot(command.mac!, command.ip!); break;
        case 'release': await pool.release(command.mac!, command.server!); result = { type: 'sent' }; break;
        case 'state': result = { held: Object.fromEntries(pool.held), conflicts: pool.conflicts, naks: pool.naks.length, acks: pool.acks.length, ignored: pool.repliesIgnored }; break;
      }
      write({ id: command.id, result });
    })();
    pending.add(run);
    void run.finally(() => pending.delete(run));
  }
  await Promise.all(pending);
  pool.close();
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}

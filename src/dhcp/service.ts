/**
 * The DHCP service: sockets in, state machine (server.ts or proxy.ts), lease
 * journal, replies out. Bad input never leaves this file as an exception: a
 * packet that does not decode is counted by reason and dropped.
 *
 * Order of an ACK: the table changes at once (so a racing request sees it),
 * the lease is appended to the journal, and the ACK goes out only after the
 * group commit's fdatasync; a lease that cannot be persisted is rolled back
 * and not ACKed (the client retries).
 *
 * Disk full or state folder unwritable (issue 8 item 3): the exception is a
 * REQUEST for an address whose lease is already on disk (a renewal, or an
 * INIT-REBOOT of a held lease). It is ACKed with the lease time the record on
 * disk still has (never longer, so a crash cannot lose a promise), if at
 * least DHCP_DEGRADED_MIN_LEASE_S remain; otherwise it is not answered. The
 * failure is logged once per DHCP_PERSIST_LOG_INTERVAL_MS with a count, shown
 * on /api/status and /metrics, and a journal that could not be opened at all
 * (read-only folder at start) is retried every DHCP_STATE_RETRY_MS: the
 * service starts anyway and recovers by itself.
 */
import type { RemoteInfo } from 'node:dgram';
import type { Config } from '../config/types.js';
import { formatIpv4 } from '../net/ipv4.js';
import type { LeaseView } from '../runtime/lease-view.js';
import type { Service, ServiceContext, ServiceFactory } from '../supervisor/service.js';
import { MessageType, messageTypeName } from './codec/constants.js';
import { DecodeError } from './codec/errors.js';
import { decodePacket, encodePacket, messageTypeOf } from './codec/packet.js';
import type { Exchange } from './exchange.js';
import { IpxeHandoutMemory } from './ipxe-memory.js';
import { LeaseTable } from './leases/lease-table.js';
import { LeaseJournal } from './leases/store.js';
import { ProxyServer } from './proxy.js';
import { setLeaseTime } from './reply.js';
import { DhcpServer } from './server.js';
import { openSockets, type ReplyPath, type SocketSet } from './sockets.js';

/** How often expired offers and declines are swept from the table. */
export const DHCP_SWEEP_INTERVAL_MS = 10_000;
/** At most one "pool exhausted" / conflict warning per this interval, so a storm does not flood the log. */
export const DHCP_WARNING_INTERVAL_MS = 30_000;
/** At most one "lease could not be written" error line per this interval (with the count since the last one). */
export const DHCP_PERSIST_LOG_INTERVAL_MS = 30_000;
/** How often a lease file that could not be opened (read-only folder at start) is tried again. */
export const DHCP_STATE_RETRY_MS = 5_000;
/**
 * A renewal ACKed from the record already on disk (disk full) gets at least
 * this much lease left, or no answer: shorter would have the client back
 * within seconds (T1 is half the lease) for no gain, and it is about to
 * expire anyway (the client then rebinds or restarts, which is retried).
 */
export const DHCP_DEGRADED_MIN_LEASE_S = 10;
/**
 * How long after an ACK to a client in SELECTING or INIT-REBOOT, which
 * replaced a binding of the same address we still held (its RELEASE, if it
 * sent one, has not been seen), a RELEASE for that address is taken for the
 * old binding's, overtaken on the way (see server.ts release()). Far above
 * the reordering of two packets a client sends a millisecond apart (a few
 * ms when a loaded CPU defers its receive work), below how soon a real
 * client releases a lease it just took: `dhclient -x; dhclient -1;
 * dhclient -r` in the interop test releases about 1 s after the ACK.
 */
export const DHCP_LATE_RELEASE_MS = 200;

const METRIC = {
  messages: ['netboot_dhcp_messages_total', 'DHCP messages received and sent, by type'],
  dropped: ['netboot_dhcp_dropped_total', 'DHCP packets not answered, by reason'],
  leases: ['netboot_dhcp_leases', 'DHCP leases by state'],
  poolFree: ['netboot_dhcp_pool_free', 'Addresses left in the DHCP pools'],
  persistErrors: ['netboot_dhcp_persist_errors_total', 'Lease journal writes that failed (new leases not ACKed; renewals ACKed only for the time already on disk)'],
  leaseFileWritable: ['netboot_dhcp_lease_file_writable', '1 when the last lease journal write (or open) succeeded, 0 while it fails'],
  degradedAcks: ['netboot_dhcp_degraded_acks_total', 'Renewals ACKed for the lease time already on disk because the new expiry could not be written'],
} as const;

function reservationsOf(config: Config): Map<number, string> {
  const reservations = new Map<number, string>();
  for (const host of config.hosts) if (host.ip !== null) reservations.set(host.ip, host.mac);
  return reservations;
}

class DhcpService implements Service {
  readonly name = 'dhcp' as const;
  private config: Config;
  private sockets: SocketSet[] = [];
  private journal: LeaseJournal | null = null;
  private table: LeaseTable | null = null;
  private server: DhcpServer | null = null;
  private proxy: ProxyServer | null = null;
  private readonly ipxeMemory = new IpxeHandoutMemory();
  private sweepTimer: NodeJS.Timeout | null = null;
  /** ACKs decided and waiting for their journal write (stop() lets them finish). */
  private acksWaitingForDisk = 0;
  /** Resolves stop()'s wait once acksWaitingForDisk is back to 0. */
  private drained: (() => void) | null = null;
  private stopping = false;
  private readonly lastWarningAt = new Map<string, number>();
  private readonly counters = { received: 0, replied: 0, dropped: 0, persistErrors: 0, degradedAcks: 0 };
  private stateRetryTimer: NodeJS.Timeout | null = null;
  /** The lease file's write error while writes fail (null when healthy): shown on /api/status. */
  private persistError: { message: string; code: string | null; since: number; lastAt: number; failures: number } | null = null;
  private lastPersistLogAt = 0;
  private persistFailuresNotLogged = 0;
  /**
   * Per-label counts not yet added to the metrics registry. The hot path
   * bumps a number in a Map; the registry is updated when metrics are
   * rendered (its collector), so a packet costs no label-key building.
   */
  private readonly pendingMessages = new Map<string, number>();
  private readonly pendingDrops = new Map<string, number>();
  private collectorAdded = false;

  constructor(private readonly context: ServiceContext) {
    this.config = context.config();
  }

  async start(): Promise<void> {
    this.stopping = false;
    this.config = this.context.config();
    const config = this.config;
    if (config.dhcp.mode === 'off') return;
    const bootState = this.ipxeMemory.wrap(this.context.bootState);
    if (config.dhcp.mode === 'authoritative') {
      await this.openLeases(config);
      this.server = new DhcpServer(() => this.config, this.table!, bootState);
      this.sweepTimer = setInterval(() => this.table?.sweep(Date.now()), DHCP_SWEEP_INTERVAL_MS);
      this.sweepTimer.unref();
      this.stateRetryTimer = setInterval(() => this.retryLeaseFile(), DHCP_STATE_RETRY_MS);
      this.stateRetryTimer.unref();
    } else {
      this.proxy = new ProxyServer(() => this.config, bootState);
    }
    this.addCollector();
    if (config.dhcp.listenAddress !== '0.0.0.0') {
      // A socket bound to a unicast address never sees 255.255.255.255: only relayed and renewing clients reach it.
      this.context.log.warn({ listen: config.dhcp.listenAddress }, 'dhcp.listen is not 0.0.0.0: broadcast DISCOVERs from machines on this segment will not be received (only relayed requests and renewals); use 0.0.0.0, or systemd sockets with BindToDevice= for several interfaces');
    }
    try {
      const sendAddress = config.server.addressText;
      this.sockets.push(await openSockets(
        { what: 'DHCP', listenAddress: config.dhcp.listenAddress, port: config.dhcp.port, sendAddress, systemdName: 'dhcp' },
        (data, source, path) => this.onPacket(data, source, path, 'dhcp'),
        (error) => this.context.log.error({ err: error }, 'DHCP socket error'),
      ));
      if (config.dhcp.mode === 'proxy') {
        // Port 4011 gets unicast only: bind the server address so it never answers on another interface.
        this.sockets.push(await openSockets(
          { what: 'proxyDHCP boot server', listenAddress: sendAddress, port: config.dhcp.proxyPort, sendAddress: null, systemdName: 'pxe' },
          (data, source, path) => this.onPacket(data, source, path, 'pxe'),
          (error) => this.context.log.error({ err: error }, 'proxyDHCP socket error'),
        ));
      }
    } catch (error) {
      await this.closeEverything();
      throw error;
    }
  }

  /**
   * Loads the lease file and opens it for appending. Never rejects for the
   * state folder: a file that cannot be written (read-only, full) leaves the
   * service degraded but serving, and the retry timer reopens it later.
   */
  private async openLeases(config: Config): Promise<void> {
    const table = new LeaseTable(config.dhcp.subnets, reservationsOf(config), [config.server.address]);
    const file = config.dhcp.leaseFile;
    const opened = await LeaseJournal.open(file, () => table.records(), Date.now(), () => table.size, undefined, {
      adoptRecords: (records) => {
        // The file was unreadable at start and is readable now: nothing new was ACKed meanwhile (nothing could be written).
        table.load(records.filter((record) => table.leaseOf(record.mac) === null && table.leaseAt(record.ip) === null));
        this.context.log.info({ file, leases: records.length }, 'lease file readable again: its leases are loaded');
      },
    });
    for (const stray of opened.strayTempFiles) {
      if (stray.removed) this.context.log.info({ file, tempFile: stray.name }, 'removed a temp file left by an interrupted lease file write');
      else this.context.log.warn({ file, tempFile: stray.name, error: stray.error }, 'could not remove a temp file left by an interrupted lease file write');
    }
    if (opened.skipped.length > 0) {
      const shown = opened.skipped.slice(0, 10).map((line) => `line ${line.line} (byte ${line.offset}): ${line.reason}`);
      const copy = opened.damagedCopy ?? `not kept (${opened.damagedCopyError?.message ?? 'unknown error'}); retried before the file is rewritten`;
      this.context.log.warn({ file, damagedCopy: copy, skippedLines: opened.skipped.length, skipped: shown, keptLeases: opened.records.length },
        'lease file was damaged: complete records kept, damaged lines skipped, a copy of the damaged file kept');
      this.context.events.record({ kind: 'state.error', mac: null, ip: null, host: null, outcome: 'failure', message: `lease file damaged: ${opened.skipped.length} line(s) skipped, copy at ${copy}`, details: { skipped: shown } });
    }
    const problem = opened.readError ?? opened.writeError;
    if (problem !== null) {
      const what = opened.readError !== null ? 'cannot be read' : 'cannot be written';
      this.notePersistError(problem);
      this.lastPersistLogAt = Date.now();
      this.context.log.error({ err: problem, file, keptLeases: opened.records.length, retryEveryMs: DHCP_STATE_RETRY_MS },
        `lease file ${what}: DHCP serves degraded (no new leases, renewals only for the time already on disk) and retries (NETBOOT_ERR_STATE_WRITE; check dhcp.leaseFile and that its folder is writable by netboot)`);
      this.context.events.record({ kind: 'state.error', mac: null, ip: null, host: null, outcome: 'failure', message: `lease file ${file} ${what}: ${problem.message}`, details: {} });
    }
    table.load(opened.records);
    this.table = table;
    this.journal = opened.journal;
    this.context.registerLeaseView(this.leaseView(table));
  }

  /** Timer: reopens a lease file that could not be opened; a full disk recovers through the next write instead. */
  private retryLeaseFile(): void {
    const journal = this.journal;
    if (journal === null || journal.degraded === null || this.stopping) return;
    void journal.retryOpen().then((ok) => {
      if (ok) this.persistSucceeded();
    });
  }

  private leaseView(table: LeaseTable): LeaseView {
    const reservedMac = (address: number): string | null => this.config.hosts.find((host) => host.ip === address)?.mac ?? null;
    return {
      macForAddress: (address) => {
        const lease = table.leaseAt(address);
        if (lease !== null && LeaseTable.isActive(lease, Date.now())) return lease.mac;
        return reservedMac(address);
      },
      addressForMac: (mac) => {
        const lease = table.leaseOf(mac);
        if (lease !== null && LeaseTable.isActive(lease, Date.now())) return lease.ip;
        return this.config.hostsByMac.get(mac)?.ip ?? null;
      },
      list: () => table.list(Date.now()),
    };
  }

  private flushCounters(): void {
    for (const [type, count] of this.pendingMessages) this.context.metrics.inc(METRIC.messages[0], METRIC.messages[1], { type }, count);
    for (const [reason, count] of this.pendingDrops) this.context.metrics.inc(METRIC.dropped[0], METRIC.dropped[1], { reason }, count);
    this.pendingMessages.clear();
    this.pendingDrops.clear();
  }

  private countMessage(type: string): void {
    this.pendingMessages.set(type, (this.pendingMessages.get(type) ?? 0) + 1);
  }

  private addCollector(): void {
    if (this.collectorAdded) return;
    this.collectorAdded = true;
    this.context.metrics.addCollector(() => {
      this.flushCounters();
      const table = this.table;
      if (table === null) return;
      const counts = table.counts(Date.now());
      for (const [state, count] of Object.entries(counts)) this.context.metrics.set(METRIC.leases[0], METRIC.leases[1], count, { state });
      this.context.metrics.set(METRIC.leaseFileWritable[0], METRIC.leaseFileWritable[1], this.persistError === null ? 1 : 0);
      const free = table.subnetPools.reduce((sum, pool) => sum + pool.freeCount, 0);
      this.context.metrics.set(METRIC.poolFree[0], METRIC.poolFree[1], free);
    });
  }

  private drop(reason: string): void {
    this.counters.dropped += 1;
    this.pendingDrops.set(reason, (this.pendingDrops.get(reason) ?? 0) + 1);
  }

  private onPacket(data: Buffer, source: RemoteInfo, path: ReplyPath, port: 'dhcp' | 'pxe'): void {
    if (this.stopping) return;
    this.counters.received += 1;
    let exchange: Exchange;
    try {
      const packet = decodePacket(data);
      this.countMessage(messageTypeName(messageTypeOf(packet)));
      const now = Date.now();
      if (this.server !== null) {
        exchange = this.server.handle({ packet, ifaceAddress: this.config.server.address, now });
      } else if (this.proxy !== null) {
        const sourceAddress = source.address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0) >>> 0;
        exchange = this.proxy.handle({ packet, port, source: { address: sourceAddress, port: source.port }, now });
      } else {
        return;
      }
    } catch (error) {
      if (error instanceof DecodeError) {
        this.drop(error.code);
        this.context.log.debug({ from: `${source.address}:${source.port}`, reason: error.code, offset: error.offset, bytes: data.length }, 'malformed DHCP packet dropped');
        return;
      }
      // A bug, not bad input: count it, say so, keep serving.
      this.drop('internal-error');
      this.context.log.error({ err: error, from: `${source.address}:${source.port}` }, 'DHCP packet handling failed');
      return;
    }
    this.carryOut(exchange, path);
  }

  private carryOut(exchange: Exchange, path: ReplyPath): void {
    if (exchange.dropReason !== null) this.drop(exchange.dropReason);
    if (exchange.warning !== null) this.warnRateLimited(exchange.warning.message, exchange.warning.fields);
    const waitsForDisk = exchange.mustPersist.length > 0 && this.journal !== null;
    // An ACK that waits for the journal is recorded once its fate is known,
    // so /api/events never shows an ACK that was withheld.
    if (!waitsForDisk) this.recordEvent(exchange, null);
    for (const record of exchange.persistLater) {
      this.journal?.append(record).then(() => this.persistSucceeded(), (error: Error) => this.persistFailed(error, record.mac));
    }
    if (exchange.mustPersist.length === 0 || this.journal === null) {
      this.send(exchange, path);
      return;
    }
    const journal = this.journal;
    const table = this.table;
    const ackBeforeBound = exchange.ackBeforeBound === true;
    if (ackBeforeBound) for (const record of exchange.mustPersist) table?.ackInFlight(record.mac, true);
    // One promise per batch from the journal; one more here, per ACK (not a chain of them).
    const written = exchange.mustPersist.length === 1
      ? journal.append(exchange.mustPersist[0]!)
      : Promise.all(exchange.mustPersist.map((record) => journal.append(record)));
    this.acksWaitingForDisk += 1;
    const settled = (): void => {
      if (ackBeforeBound) for (const record of exchange.mustPersist) table?.ackInFlight(record.mac, false);
      this.acksWaitingForDisk -= 1;
      if (this.acksWaitingForDisk === 0 && this.drained !== null) this.drained();
    };
    written.then(
      () => {
        settled();
        this.persistSucceeded();
        this.recordEvent(exchange, null);
        this.send(exchange, path);
        if (exchange.releaseMayTrail === true && table !== null) {
          const now = Date.now();
          for (const record of exchange.mustPersist) table.expectLateRelease(record.mac, record.ip, now + DHCP_LATE_RELEASE_MS);
        }
      },
      (error: Error) => {
        settled();
        exchange.rollback?.();
        this.persistFailed(error, exchange.mustPersist[0]?.mac ?? null);
        if (this.shortenToDurable(exchange, journal, Date.now())) {
          this.counters.degradedAcks += 1;
          this.context.metrics.inc(METRIC.degradedAcks[0], METRIC.degradedAcks[1]);
          this.recordEvent(exchange, 'lease file not writable: ACKed for the time already on disk');
          this.send(exchange, path);
        } else {
          this.recordEvent(exchange, 'not sent: the lease could not be written to the lease file', 'failure');
          this.drop('persist-failed');
        }
      },
    );
  }

  /** Records the exchange's event, with a note on what the lease file did to it. */
  private recordEvent(exchange: Exchange, note: string | null, outcome?: 'failure'): void {
    if (exchange.event === null) return;
    const event = exchange.event;
    this.context.events.recordClient(event, note, outcome ?? event.outcome);
    if (event.unknownArch !== null) this.warnRateLimited('client sent an unknown option 93 architecture; treated as BIOS', { mac: event.mac, arch: event.unknownArch });
  }

  /**
   * After the journal could not take a REQUEST's new expiry (and the table
   * change was rolled back): whether the ACK may still go out, for the lease
   * time the record already on disk promises. Only for a single bound record
   * whose address matches what is on disk and what the table (after the
   * rollback) says this MAC holds, so no address can ever be ACKed twice.
   * Shortens the ACK's lease time (and T1/T2) in place.
   */
  private shortenToDurable(exchange: Exchange, journal: LeaseJournal, now: number): boolean {
    if (exchange.mustPersist.length !== 1 || this.table === null) return false;
    const record = exchange.mustPersist[0]!;
    const durable = journal.durableLeaseOf(record.mac);
    if (record.state !== 'bound' || durable === null || durable.state !== 'bound' || durable.ip !== record.ip) return false;
    const held = this.table.leaseOf(record.mac);
    if (held === null || held.ip !== record.ip || !LeaseTable.isActive(held, now)) return false;
    const remainingS = Math.floor((durable.expiresAt - now) / 1000);
    if (remainingS < DHCP_DEGRADED_MIN_LEASE_S) return false;
    const acks = exchange.replies.filter((reply) => messageTypeOf(reply.packet) === MessageType.Ack);
    if (acks.length === 0) return false;
    for (const reply of acks) setLeaseTime(reply.packet, Math.min(remainingS, this.config.dhcp.leaseTimeS));
    this.warnRateLimited('lease file not writable: renewals ACKed only for the lease time already on disk', { file: this.config.dhcp.leaseFile, mac: record.mac, leaseTimeS: remainingS });
    return true;
  }

  private notePersistError(error: Error): void {
    const now = Date.now();
    const previous = this.persistError;
    this.persistError = {
      message: error.message, code: (error as NodeJS.ErrnoException).code ?? null,
      since: previous?.since ?? now, lastAt: now, failures: (previous?.failures ?? 0) + 1,
    };
  }

  /** Every failure is counted (status, metrics); the error line is rate-limited: one per interval, with the count. */
  private persistFailed(error: Error, mac: string | null): void {
    this.counters.persistErrors += 1;
    this.context.metrics.inc(METRIC.persistErrors[0], METRIC.persistErrors[1]);
    this.notePersistError(error);
    const now = Date.now();
    if (now - this.lastPersistLogAt < DHCP_PERSIST_LOG_INTERVAL_MS) {
      this.persistFailuresNotLogged += 1;
      return;
    }
    const failures = this.persistFailuresNotLogged + 1;
    this.persistFailuresNotLogged = 0;
    this.lastPersistLogAt = now;
    this.context.log.error({ err: error, mac, file: this.config.dhcp.leaseFile, failures, intervalMs: DHCP_PERSIST_LOG_INTERVAL_MS },
      'lease could not be written to the lease file; new leases not ACKed, renewals only for the time already on disk (NETBOOT_ERR_STATE_WRITE)');
  }

  /** A write went through: if writes had been failing, say once that they work again. */
  private persistSucceeded(): void {
    const error = this.persistError;
    if (error === null) return;
    this.persistError = null;
    this.context.log.info({ file: this.config.dhcp.leaseFile, failedWrites: error.failures, notLogged: this.persistFailuresNotLogged, failingForMs: Date.now() - error.since },
      'lease file is writable again: leases are ACKed again');
    this.persistFailuresNotLogged = 0;
    this.lastPersistLogAt = 0;
  }

  private send(exchange: Exchange, path: ReplyPath): void {
    for (const reply of exchange.replies) {
      let bytes: Buffer;
      try {
        bytes = encodePacket(reply.packet);
      } catch (error) {
        this.drop('encode-failed');
        this.context.log.error({ err: error }, 'DHCP reply could not be encoded');
        continue;
      }
      this.countMessage(messageTypeName(messageTypeOf(reply.packet)));
      this.counters.replied += 1;
      path.send(bytes, reply.destination, (error) => {
        this.drop('send-failed');
        this.context.log.debug({ err: error, to: `${formatIpv4(reply.destination.address)}:${reply.destination.port}` }, 'DHCP reply could not be sent');
      });
    }
    if (exchange.handed !== null) this.ipxeMemory.note(exchange.handed, exchange.handedXid ?? null);
    const done = exchange.completed;
    if (done !== null) {
      this.context.log.info({ mac: done.mac, ip: done.ip, host: done.host, firmware: done.firmware, file: done.bootFile }, done.bootFile === null ? 'address leased' : 'address leased with boot file');
    }
  }

  private warnRateLimited(message: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    const last = this.lastWarningAt.get(message) ?? 0;
    if (now - last < DHCP_WARNING_INTERVAL_MS) return;
    this.lastWarningAt.set(message, now);
    this.context.log.warn(fields, message);
  }

  private async closeEverything(): Promise<void> {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    if (this.stateRetryTimer !== null) clearInterval(this.stateRetryTimer);
    this.stateRetryTimer = null;
    const sockets = this.sockets;
    this.sockets = [];
    await Promise.all(sockets.map((set) => set.close()));
    const journal = this.journal;
    this.journal = null;
    if (journal !== null) await journal.close();
    this.server = null;
    this.proxy = null;
  }

  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    if (this.acksWaitingForDisk > 0) {
      await Promise.race([
        new Promise<void>((resolve) => { this.drained = resolve; }),
        new Promise((resolve) => setTimeout(resolve, drainMs).unref()),
      ]);
      this.drained = null;
    }
    await this.closeEverything();
  }

  async reload(config: Config): Promise<void> {
    const before = this.config;
    this.config = config;
    const socketsChanged = before.dhcp.mode !== config.dhcp.mode || before.dhcp.port !== config.dhcp.port
      || before.dhcp.listenAddress !== config.dhcp.listenAddress || before.dhcp.proxyPort !== config.dhcp.proxyPort
      || before.server.address !== config.server.address || before.dhcp.leaseFile !== config.dhcp.leaseFile;
    if (socketsChanged) {
      await this.stop(2000);
      this.table = null;
      await this.start();
      return;
    }
    this.table?.configure(config.dhcp.subnets, reservationsOf(config), [config.server.address]);
  }

  describe(): string {
    if (this.config.dhcp.mode === 'off') return 'off';
    const where = this.sockets.map((set) => set.describe()).join('; ');
    return `${where} (${this.config.dhcp.mode}, server id ${this.config.server.addressText})`;
  }

  status(): Record<string, unknown> {
    const now = Date.now();
    const table = this.table;
    return {
      mode: this.config.dhcp.mode,
      received: this.counters.received,
      replied: this.counters.replied,
      dropped: this.counters.dropped,
      persistErrors: this.counters.persistErrors,
      degradedAcks: this.counters.degradedAcks,
      leaseFile: this.config.dhcp.mode !== 'authoritative' ? null : {
        path: this.config.dhcp.leaseFile,
        writable: this.persistError === null,
        error: this.persistError === null ? null : {
          message: this.persistError.message, code: this.persistError.code, failures: this.persistError.failures,
          since: new Date(this.persistError.since).toISOString(), lastAt: new Date(this.persistError.lastAt).toISOString(),
        },
      },
      leases: table?.counts(now) ?? null,
      pools: table?.subnetPools.map((pool) => ({ subnet: `${formatIpv4(pool.cidr.network)}/${pool.cidr.prefixLength}`, size: pool.size, free: pool.freeCount })) ?? [],
    };
  }
}

export const createDhcpService: ServiceFactory = (context) => new DhcpService(context);

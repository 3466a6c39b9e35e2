/**
 * The TFTP listener: takes requests on the well-known port, checks limits,
 * resolves the file, negotiates options and runs each transfer on its own
 * socket (RFC 1350 §4: the server's TID is a fresh port). Counts everything
 * the status API shows.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import type { Config, FirmwareKind, HostConfig } from '../config/types.js';
import { FIRMWARE_KINDS } from '../config/types.js';
import { bindError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { parseIpv4 } from '../net/ipv4.js';
import type { BootState } from '../policy/boot-policy.js';
import type { EventLog } from '../runtime/events.js';
import type { LeaseView } from '../runtime/lease-view.js';
import type { Metrics } from '../runtime/metrics.js';
import type { TransferRegistry } from '../runtime/transfers.js';
import { DecodeError, decodePacket, encodeError, encodeOptionAck, ErrorCode, Opcode, type RequestPacket } from './codec.js';
import { FileResolver, type Refusal, type RefusalReason } from './files.js';
import { negotiateOptions } from './negotiate.js';
import { bindSocket, newUdpSocket } from './sockets.js';
import type { TransferResult } from './transfer.js';
import { createTransferRunner, type RunningTransfer, type TransferRunner } from './transfer-runner.js';
import { failureWarnings, refusalWarnings } from './warn-log.js';

/** Receive buffer asked for on the request socket, so a boot storm's burst of RRQs is not dropped. */
export const REQUEST_SOCKET_RECV_BUFFER_BYTES = 1024 * 1024;

export interface TftpServerDeps {
  config(): Config;
  log: Logger;
  events: EventLog;
  metrics: Metrics;
  transfers: TransferRegistry;
  leases(): LeaseView;
  bootState: BootState;
}

/**
 * Why a request was refused: the resolver's reasons plus the server's own.
 * A closed set (a metric label), never a client-controlled string.
 */
export type TftpRefusalReason = RefusalReason | 'write-request' | 'bad-mode' | 'server-busy' | 'client-busy' | 'no-port' | 'internal-error' | 'shutting-down';

export interface TftpCounters {
  started: number;
  completed: number;
  /** Of `completed`: every block delivered, the final ACK never came (lost, or the client closed its port; RFC 1350 §6). */
  completedWithoutFinalAck: number;
  failed: number;
  sizeProbes: number;
  refused: number;
  refusedByReason: Partial<Record<TftpRefusalReason, number>>;
  /** RRQs repeated from an ip:port whose transfer is already running (a client retransmitting its request): ignored, and counted here. */
  duplicates: number;
  bytes: number;
  retransmits: number;
  unknownTid: number;
  malformed: Record<string, number>;
}

const METRIC_TRANSFERS = 'netboot_tftp_transfers_total';
const METRIC_REFUSED = 'netboot_tftp_refused_total';
const METRIC_DUPLICATES = 'netboot_tftp_duplicate_requests_total';
const METRIC_BYTES = 'netboot_tftp_bytes_total';
const METRIC_RETRANSMITS = 'netboot_tftp_retransmits_total';
const METRIC_MALFORMED = 'netboot_tftp_malformed_total';
const METRIC_ACTIVE = 'netboot_tftp_active_transfers';

/** Names pxelinux and GRUB probe one after another; a miss there is routine. */
const PROBED_CONFIG_NAME = /^(?:pxelinux\.cfg\/|grub\/grub\.cfg|grub\.cfg|ipxe\/|netboot\/)/;

/**
 * One request's hold on the limits (maxTransfers, per client) and on its
 * client's `address:port`: it is in `active` exactly until released.
 */
interface Slot {
  /** The client's address, whose per-client count the slot holds one of. */
  address: string;
  /** Null while the request is being resolved and the transfer port bound. */
  transfer: RunningTransfer | null;
}

export class TftpServer {
  private socket: Socket | null = null;
  private boundTo = '';
  /** By client `address:port`. A retransmitted RRQ finds its entry and is ignored; see startTransfer. */
  private readonly active = new Map<string, Slot>();
  /** Requests and transfers per client address, for maxTransfersPerClient. */
  private readonly perClient = new Map<string, number>();
  /** Transfers that ended because their client asked again (see startTransfer), until their books close after the port linger. */
  private readonly superseded = new Set<Promise<TransferResult>>();
  /** Requests being resolved plus transfers running: what maxTransfers limits. */
  private inUse = 0;
  private nextRangePort = 0;
  private accepting = false;
  private drained: (() => void) | null = null;
  readonly resolver: FileResolver;
  /** Created on listen, closed on close: a service stopped and started again gets a fresh pool. */
  private runner: TransferRunner | null = null;
  readonly counters: TftpCounters = { started: 0, completed: 0, completedWithoutFinalAck: 0, failed: 0, sizeProbes: 0, refused: 0, refusedByReason: {}, duplicates: 0, bytes: 0, retransmits: 0, unknownTid: 0, malformed: {} };
  private readonly refusalWarnings: ReturnType<typeof refusalWarnings>;
  private readonly failureWarnings: ReturnType<typeof failureWarnings>;

  constructor(private readonly deps: TftpServerDeps) {
    this.resolver = new FileResolver(deps.config().tftp.cacheBytes);
    this.refusalWarnings = refusalWarnings(deps.log);
    this.failureWarnings = failureWarnings(deps.log);
  }

  /** `udp 0.0.0.0:69` */
  describe(): string {
    return this.boundTo || `udp ${this.deps.config().tftp.listenAddress}:${this.deps.config().tftp.port}`;
  }

  get activeTransfers(): number {
    return this.active.size;
  }

  /** Binds the request socket; rejects with a NetbootError naming the port on EADDRINUSE/EACCES. */
  async listen(): Promise<void> {
    const { listenAddress, port } = this.deps.config().tftp;
    const socket = newUdpSocket();
    try {
      await bindSocket(socket, port, listenAddress);
    } catch (error) {
      socket.close();
      throw bindError(error as NodeJS.ErrnoException, `TFTP udp ${listenAddress}:${port}`, port);
    }
    try {
      socket.setRecvBufferSize(REQUEST_SOCKET_RECV_BUFFER_BYTES);
    } catch {
      // Capped by net.core.rmem_max: the kernel default still works.
    }
    socket.on('message', (msg, from) => this.onRequest(msg, from));
    socket.on('error', (error) => this.deps.log.error({ err: error }, 'TFTP request socket error'));
    const previous = this.socket;
    this.socket = socket;
    this.runner ??= createTransferRunner((message, error) => this.deps.log.error({ err: error }, message));
    this.boundTo = `udp ${listenAddress}:${socket.address().port}`;
    this.accepting = true;
    this.deps.metrics.set(METRIC_ACTIVE, 'TFTP transfers in progress', this.active.size);
    previous?.close();
  }

  /** The port actually bound (useful with port 0 in tests). */
  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  /** Applies a new config: limits, root and cache budget take effect for new transfers; rebinds if the address or port changed. */
  async reload(previous: Config): Promise<void> {
    const next = this.deps.config();
    this.resolver.cache.setBudget(next.tftp.cacheBytes);
    if (this.socket && (previous.tftp.listenAddress !== next.tftp.listenAddress || previous.tftp.port !== next.tftp.port)) {
      await this.listen();
    }
  }

  /** Stops taking requests; running transfers get up to `drainMs` to finish, then are aborted. */
  async close(drainMs: number): Promise<void> {
    this.accepting = false;
    this.socket?.close();
    this.socket = null;
    if (this.active.size > 0 && drainMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.drained = null;
    }
    const left = [...this.active.values()].flatMap((slot) => (slot.transfer === null ? [] : [slot.transfer]));
    for (const transfer of left) transfer.abort('Server shutting down');
    await Promise.all([...left.map((transfer) => transfer.finished), ...this.superseded]);
    await this.runner?.close();
    this.runner = null;
    this.refusalWarnings.close();
    this.failureWarnings.close();
  }

  status(): Record<string, unknown> {
    return {
      listening: this.socket !== null ? this.boundTo : null,
      active: this.active.size,
      workerThreads: this.runner?.threads ?? 0,
      workerHeaps: this.runner?.heaps() ?? [],
      ...this.counters,
      malformed: { ...this.counters.malformed },
      refusedByReason: { ...this.counters.refusedByReason },
      cache: { bytes: this.resolver.cache.usedBytes, hits: this.resolver.cache.hits, misses: this.resolver.cache.misses },
    };
  }

  private countMalformed(reason: string): void {
    this.counters.malformed[reason] = (this.counters.malformed[reason] ?? 0) + 1;
    this.deps.metrics.inc(METRIC_MALFORMED, 'TFTP packets dropped as malformed or unexpected', { reason });
  }

  private sendFromListener(packet: Buffer, to: RemoteInfo): void {
    try {
      this.socket?.send(packet, to.port, to.address);
    } catch {
      // closing
    }
  }

  private onRequest(msg: Buffer, from: RemoteInfo): void {
    let packet;
    try {
      packet = decodePacket(msg);
    } catch (error) {
      if (error instanceof DecodeError) {
        this.countMalformed(error.code);
        this.deps.log.debug({ client: from.address, reason: error.code, detail: error.message }, 'malformed TFTP request dropped');
        return;
      }
      throw error;
    }
    if (!this.accepting) return;
    if (packet.opcode === Opcode.WriteRequest) {
      this.refuse(from, packet.filename, { errorCode: ErrorCode.AccessViolation, reason: 'write-request', message: 'Write not allowed: read-only server' }, 'failure');
      return;
    }
    if (packet.opcode !== Opcode.ReadRequest) {
      // DATA/ACK/ERROR/OACK to the request port: not ours to answer (and answering spoofed strays would make us a reflector).
      this.countMalformed('unexpected-opcode');
      return;
    }
    void this.startTransfer(packet, from).catch((error: unknown) => {
      // A bug or an unexpected I/O error: tell the client at once (it would
      // otherwise retry until its own timeout) and show it in /api/events.
      this.deps.log.error({ err: error, client: from.address, file: packet.filename }, 'TFTP request handling failed');
      const who = this.identify(this.deps.config(), from.address);
      this.refuse(from, packet.filename, { errorCode: ErrorCode.NotDefined, reason: 'internal-error', message: 'Internal server error' }, 'failure', who.mac, who.host);
    });
  }

  private refuse(from: RemoteInfo, file: string, refusal: Pick<Refusal, 'errorCode' | 'message'> & { reason: TftpRefusalReason }, outcome: 'harmless' | 'failure', mac: string | null = null, host: HostConfig | null = null): void {
    this.sendFromListener(encodeError(refusal.errorCode, refusal.message), from);
    this.counters.refused++;
    this.counters.refusedByReason[refusal.reason] = (this.counters.refusedByReason[refusal.reason] ?? 0) + 1;
    this.deps.metrics.inc(METRIC_TRANSFERS, 'TFTP transfers by outcome', { outcome: 'refused' });
    this.deps.metrics.inc(METRIC_REFUSED, 'TFTP requests refused, by reason', { reason: refusal.reason });
    this.deps.events.record({
      kind: 'tftp.refused',
      mac,
      ip: from.address,
      host: host?.name ?? null,
      outcome,
      message: `${file}: ${refusal.reason}`,
      details: { file, reason: refusal.reason, errorCode: refusal.errorCode, client: `${from.address}:${from.port}` },
    });
    const fields = { client: from.address, port: from.port, file, reason: refusal.reason, errorCode: refusal.errorCode };
    // An admin-worthy refusal goes to the rate-limited warn line (a debug line when held back); a routine one is a debug line.
    if (outcome === 'failure') this.refusalWarnings.note(fields);
    else this.deps.log.debug(fields, 'TFTP request refused');
  }

  private identify(config: Config, address: string): { mac: string | null; host: HostConfig | null; firmware: FirmwareKind | null; addressNumber: number | null } {
    const addressNumber = parseIpv4(address);
    const leases = this.deps.leases();
    const mac = addressNumber === null ? null : leases.macForAddress(addressNumber);
    if (mac === null) return { mac, host: null, firmware: null, addressNumber };
    const host = config.hostsByMac.get(mac) ?? null;
    const firmwareText = leases.list().find((lease) => lease.mac === mac)?.firmware ?? null;
    const firmware = FIRMWARE_KINDS.find((kind) => kind === firmwareText) ?? null;
    return { mac, host, firmware, addressNumber };
  }

  private countDuplicate(): void {
    this.counters.duplicates++;
    this.deps.metrics.inc(METRIC_DUPLICATES, 'TFTP read requests repeated from a client port whose transfer is running (ignored)');
  }

  /** Gives back a slot's share of the limits; idempotent (a slot is released early when its client starts over). */
  private releaseSlot(clientKey: string, slot: Slot): void {
    if (this.active.get(clientKey) !== slot) return;
    this.active.delete(clientKey);
    this.inUse--;
    const left = (this.perClient.get(slot.address) ?? 1) - 1;
    if (left <= 0) this.perClient.delete(slot.address);
    else this.perClient.set(slot.address, left);
  }

  private async startTransfer(request: RequestPacket, from: RemoteInfo): Promise<void> {
    const clientKey = `${from.address}:${from.port}`;
    const existing = this.active.get(clientKey);
    if (existing !== undefined) {
      // A client that retransmits its RRQ before our first reply arrives must
      // not get a second transfer racing the first one from another TID: a
      // normal retransmission, so counted but not logged. But a client may
      // also ask again from the same port once it is done (PXE stacks that
      // reuse their port, EDK2's second request after its size probe, a port
      // the kernel hands to a new client): when the running transfer has
      // ended or waits only for its final ACK, it is closed (done) and this
      // is a new request. Ignoring it left such a client with nothing but
      // the old transfer's resent last block (RELIABILITY.md gap 11).
      if (existing.transfer === null || !(await existing.transfer.requestAgain())) {
        this.countDuplicate();
        return;
      }
      const ended = existing.transfer.finished;
      this.superseded.add(ended);
      void ended.finally(() => this.superseded.delete(ended));
      this.releaseSlot(clientKey, existing);
      if (this.active.has(clientKey)) {
        // Another RRQ from this port took over while we asked: this one repeats it.
        this.countDuplicate();
        return;
      }
    }
    const config = this.deps.config();
    const tftp = config.tftp;
    const who = this.identify(config, from.address);

    if (request.mode !== 'octet' && request.mode !== 'netascii') {
      // `mail` (RFC 1350) is obsolete and anything else is unknown.
      this.refuse(from, request.filename, { errorCode: ErrorCode.IllegalOperation, reason: 'bad-mode', message: `Unsupported mode: ${request.mode}` }, 'failure', who.mac, who.host);
      return;
    }
    if (this.inUse >= tftp.maxTransfers) {
      this.refuse(from, request.filename, { errorCode: ErrorCode.NotDefined, reason: 'server-busy', message: 'Server busy: too many transfers, try again' }, 'failure', who.mac, who.host);
      return;
    }
    const perClient = this.perClient.get(from.address) ?? 0;
    if (perClient >= tftp.maxTransfersPerClient) {
      this.refuse(from, request.filename, { errorCode: ErrorCode.NotDefined, reason: 'client-busy', message: 'Too many transfers from this client' }, 'failure', who.mac, who.host);
      return;
    }
    this.inUse++;
    this.perClient.set(from.address, perClient + 1);
    const slot: Slot = { address: from.address, transfer: null };
    this.active.set(clientKey, slot);
    let registered = false;
    let release = () => {};
    try {
      const resolved = await this.resolver.resolve(config, {
        rawName: request.filename,
        mode: request.mode,
        who: { clientAddress: who.addressNumber, macForAddress: (address) => this.deps.leases().macForAddress(address), state: this.deps.bootState },
      });
      if (!resolved.ok) {
        const routine = resolved.reason === 'not-found' && PROBED_CONFIG_NAME.test(request.filename.replace(/^\/+/, ''));
        this.refuse(from, request.filename, resolved, routine ? 'harmless' : 'failure', who.mac, who.host);
        return;
      }
      release = resolved.release;
      const runner = this.runner;
      if (!this.accepting || runner === null) {
        this.refuse(from, request.filename, { errorCode: ErrorCode.NotDefined, reason: 'shutting-down', message: 'Server shutting down' }, 'harmless', who.mac, who.host);
        return;
      }
      const blksizeMax = Math.min(tftp.blksizeMax, who.host?.tftpBlksizeMax ?? Infinity, (who.firmware && tftp.blksizeMaxByFirmware[who.firmware]) || Infinity);
      const negotiated = negotiateOptions(request.options, { blksizeMax, windowsizeMax: tftp.windowsizeMax }, resolved.size);

      let progress: (bytes: number) => void = () => undefined;
      const transfer = runner.run(
        {
          client: { address: from.address, port: from.port },
          ports: { bindAddress: tftp.listenAddress, portRange: tftp.portRange, rangeStart: this.nextRangePort++ },
          source: { content: resolved.content, fd: resolved.fd, size: resolved.size },
          blksize: negotiated.blksize,
          windowsize: negotiated.windowsize,
          timeoutMs: (negotiated.timeoutS ?? tftp.timeoutS) * 1000,
          retries: tftp.retries,
          oack: negotiated.oack.length > 0 ? encodeOptionAck(negotiated.oack) : null,
          tsizeRequested: negotiated.tsizeRequested,
        },
        {
          onProgress: (bytes) => progress(bytes),
          onUnknownTid: (stranger) => {
            this.counters.unknownTid++;
            this.countMalformed('unknown-tid');
            this.deps.log.debug({ client: clientKey, stranger: `${stranger.address}:${stranger.port}` }, 'packet from unknown TID answered with ERROR 5');
          },
          onMalformed: (reason) => this.countMalformed(reason),
        },
      );
      slot.transfer = transfer;
      try {
        await transfer.ready;
      } catch (error) {
        this.refuse(from, request.filename, { errorCode: ErrorCode.NotDefined, reason: 'no-port', message: 'No free transfer port' }, 'failure', who.mac, who.host);
        this.deps.log.error({ err: error }, 'no TFTP transfer port could be bound');
        return;
      }
      const handle = this.deps.transfers.begin({ service: 'tftp', client: clientKey, mac: who.mac, file: resolved.name, size: resolved.size });
      progress = handle.progress;
      registered = true;
      this.counters.started++;
      this.deps.metrics.set(METRIC_ACTIVE, 'TFTP transfers in progress', this.active.size);
      const summary = { client: clientKey, mac: who.mac, host: who.host?.name ?? null, file: resolved.name, size: resolved.size, origin: resolved.origin, blksize: negotiated.blksize, windowsize: negotiated.windowsize, mode: request.mode };
      this.deps.log.debug(summary, 'TFTP transfer started');
      this.deps.events.record({ kind: 'tftp.start', mac: who.mac, ip: from.address, host: who.host?.name ?? null, outcome: 'ok', message: resolved.name, details: { size: resolved.size, blksize: negotiated.blksize, windowsize: negotiated.windowsize } });

      const result = await transfer.finished;
      handle.end();
      this.report(result, summary, who.mac, who.host, from.address);
    } finally {
      release();
      this.releaseSlot(clientKey, slot);
      if (registered) this.deps.metrics.set(METRIC_ACTIVE, 'TFTP transfers in progress', this.active.size);
      if (this.active.size === 0) this.drained?.();
    }
  }

  private report(result: TransferResult, summary: Record<string, unknown> & { file: string; client: string }, mac: string | null, host: HostConfig | null, address: string): void {
    const counters = this.counters;
    counters.bytes += result.bytes;
    counters.retransmits += result.retransmits;
    this.deps.metrics.inc(METRIC_BYTES, 'TFTP file bytes delivered (acknowledged)', {}, result.bytes);
    if (result.retransmits > 0) this.deps.metrics.inc(METRIC_RETRANSMITS, 'TFTP packets sent again after a timeout or gap', {}, result.retransmits);
    this.deps.metrics.inc(METRIC_TRANSFERS, 'TFTP transfers by outcome', { outcome: result.outcome });
    const line = { ...summary, bytes: result.bytes, durationMs: result.durationMs, retransmits: result.retransmits, outcome: result.outcome, reason: result.reason };
    const details = { size: summary['size'], bytes: result.bytes, blksize: summary['blksize'], windowsize: summary['windowsize'], durationMs: result.durationMs, retransmits: result.retransmits };
    const base = { mac, ip: address, host: host?.name ?? null };
    if (result.outcome === 'done') {
      counters.completed++;
      if (result.finalAckMissing) counters.completedWithoutFinalAck++;
      this.deps.log.info(line, result.finalAckMissing ? 'TFTP transfer done (final ACK not received)' : 'TFTP transfer done');
      this.deps.events.record({ ...base, kind: 'tftp.done', outcome: 'ok', message: summary.file, details });
    } else if (result.outcome === 'size-probe') {
      counters.sizeProbes++;
      this.deps.log.info(line, 'TFTP size probe (client read tsize and aborted, as EDK2 does)');
      this.deps.events.record({ ...base, kind: 'tftp.size-probe', outcome: 'harmless', message: `${summary.file}: size probe`, details });
    } else {
      counters.failed++;
      this.failureWarnings.note({ ...line, failure: result.failure ?? 'aborted' });
      this.deps.events.record({ ...base, kind: 'tftp.failed', outcome: 'failure', message: `${summary.file}: ${result.reason ?? 'failed'}`, details: { ...details, reason: result.reason } });
    }
  }
}

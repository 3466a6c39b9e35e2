/**
 * One read transfer on its own socket (its port is the server's TID, RFC
 * 1350 §4): optional OACK, then DATA in windows of `windowsize` blocks
 * (RFC 7440; 1 is classic lock-step), retransmission on timeout with
 * backoff and a bounded number of tries, block-number rollover past 65535.
 *
 * The hot path is written to allocate nothing per block: one packet buffer
 * per window slot, filled by copy and reused once the kernel has taken it.
 */
import type { Socket, RemoteInfo } from 'node:dgram';
import { encodeError, ErrorCode, Opcode, writeDataHeader } from './codec.js';
import type { BlockSource } from './block-source.js';

/**
 * Retransmission schedule. One quick resend after the first timeout (a lost
 * DATA, or a lost ACK from a client that re-ACKs a duplicate block: tftp-hpa,
 * iPXE, EDK2), then waits of CLIENT_TIMER_ROOM_MS (at least twice the first
 * timeout): long enough for the client's own timer to fire. atftp ignores a
 * duplicate block ("got wrong block, ignoring") without re-ACKing, and every
 * packet it gets restarts its 4-5 s wait, so a server that resends more often
 * than that never lets it resend its lost ACK (measured with resends capped at
 * 2 s: 0 of 3 lock-step and 0 of 3 windowed atftp transfers completed at 30% loss); one
 * that backs off to 10 s outlasts its 5 tries (1/3 lock-step, the old
 * doubling up to 10 s). A duplicate ACK from the client (its timer fired:
 * our DATA was lost) brings the resend forward at once; see clientHeard().
 */
export const CLIENT_TIMER_ROOM_MS = 6_000;

/** The wait after the transfer's `resends`-th retransmission (0: after the first send). */
export function retransmitWaitMs(baseMs: number, resends: number): number {
  return resends === 0 ? baseMs : Math.max(CLIENT_TIMER_ROOM_MS, baseMs * 2);
}

/**
 * After a transfer ends, its port stays open this long on the unconnected
 * twin before closing: datagrams already queued there (strangers spraying
 * the port, the client's duplicated last ACK) are read and counted instead
 * of vanishing uncounted when the socket closes. The result is reported
 * after it, so every packet is counted before the transfer's books close.
 */
export const PORT_LINGER_MS = 50;

export type TransferOutcome = 'done' | 'failed' | 'size-probe';

/** What a failure comes down to: a closed set for log keys and summary counts (the reason text can hold a client's own words). */
export type TransferFailureKind = 'timeout' | 'client-error' | 'socket-error' | 'read-error' | 'worker-lost' | 'aborted';

export interface TransferResult {
  outcome: TransferOutcome;
  /** File bytes the client acknowledged. */
  bytes: number;
  /** DATA (and OACK) packets sent again. */
  retransmits: number;
  durationMs: number;
  /**
   * Why it failed (`timeout`, `client error 2: …`, `shutdown`); null when
   * done, except a `done` whose final ACK never came (see finalAckMissing).
   */
  reason: string | null;
  /** Set when failed: the kind of `reason`, decided where the failure happened. */
  failure: TransferFailureKind | null;
  /**
   * Done without the final ACK: every block before the last was acknowledged
   * and the last was sent, then the client went quiet (its final ACK lost,
   * RFC 1350 §6) or closed its port (ICMP port unreachable). The client has
   * the file as far as anyone can tell, so this counts as completed.
   */
  finalAckMissing: boolean;
}

/** What negotiation settled for one transfer; the same whether it runs here or in a worker thread. */
export interface NegotiatedTransfer {
  blksize: number;
  windowsize: number;
  /** First retransmission timeout; later waits follow retransmitWaitMs(). */
  timeoutMs: number;
  /** Consecutive timeouts before giving up. */
  retries: number;
  /** The OACK datagram to send first, or null to start with DATA 1. */
  oack: Buffer | null;
  /** The request carried `tsize`: an ERROR in reply to our OACK is then EDK2's size probe, not a failure. */
  tsizeRequested: boolean;
}

export interface TransferOptions extends NegotiatedTransfer {
  /**
   * Bound to its own port and connected to the client; the transfer owns it
   * and closes it at the end. A connected socket skips the kernel's route
   * lookup on every send, which is most of the per-packet cost here.
   */
  socket: Socket;
  /**
   * Unconnected, bound to the same port (SO_REUSEADDR): the kernel hands it
   * only datagrams from other addresses/ports, which get ERROR 5. Null when
   * it could not be bound (strangers then get ICMP port unreachable).
   */
  strangerSocket: Socket | null;
  peerAddress: string;
  peerPort: number;
  source: BlockSource;
  onProgress?(bytes: number): void;
  /** A packet arrived from an address/port that is not this transfer's client (answered with ERROR 5). */
  onUnknownTid?(from: RemoteInfo): void;
  onMalformed?(reason: string): void;
}

const UNKNOWN_TID = encodeError(ErrorCode.UnknownTransferId, 'Unknown transfer ID');

export class Transfer {
  private readonly socket: Socket;
  private readonly source: BlockSource;
  private readonly blksize: number;
  private readonly windowsize: number;
  private readonly lastBlock: number;
  private readonly baseTimeoutMs: number;
  /** One reusable packet per window slot. */
  private readonly packets: Buffer[];

  private state: 'oack' | 'data' | 'finished' = 'data';
  /** Lowest block not yet acknowledged (absolute, 1-based; wire number is `& 0xffff`). */
  private base = 1;
  /** Next block to send. */
  private next = 1;
  /** Highest block ever sent: anything at or below it that is sent again is a retransmit. */
  private highestSent = 0;
  private retransmits = 0;
  private tries = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerMs = 0;
  private lastProgressAt = Date.now();
  private loading = false;
  private readonly startedAt = Date.now();
  private resolve!: (result: TransferResult) => void;
  readonly finished: Promise<TransferResult>;

  constructor(private readonly options: TransferOptions) {
    this.socket = options.socket;
    this.source = options.source;
    this.blksize = options.blksize;
    this.windowsize = options.windowsize;
    // The last block is the first short one: a file of exactly N blocks ends with an empty block.
    this.lastBlock = Math.floor(options.source.size / options.blksize) + 1;
    this.baseTimeoutMs = options.timeoutMs;
    this.packets = Array.from({ length: Math.min(options.windowsize, this.lastBlock) }, () => Buffer.allocUnsafe(4 + options.blksize));
    this.finished = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  start(): Promise<TransferResult> {
    this.socket.on('message', this.onMessage);
    this.socket.on('error', this.onSocketError);
    this.options.strangerSocket?.on('message', this.onStranger);
    this.options.strangerSocket?.on('error', () => undefined);
    if (this.options.oack) {
      this.state = 'oack';
      this.sendOack(false);
    } else {
      this.sendWindow();
    }
    this.armTimer(this.baseTimeoutMs);
    return this.finished;
  }

  /** Ends the transfer now, telling the client why. */
  abort(message: string): void {
    if (this.state === 'finished') return;
    this.sendRaw(encodeError(ErrorCode.NotDefined, message));
    this.finish('failed', message, false, 'aborted');
  }

  /**
   * The client sent its RRQ again from this transfer's client port. While
   * blocks are still owed it is a retransmitted request (queued behind a
   * backlog, it can arrive after the transfer started): ignored, false. Once
   * only the final ACK is missing the client has every block and has moved
   * on to a new request from the same port: the transfer ends as done
   * (final ACK not received), true. True as well when it has already ended.
   */
  requestedAgain(): boolean {
    if (this.state === 'finished') return true;
    if (!this.onlyFinalAckMissing) return false;
    this.finish('done', 'final ACK not received: client sent a new request', true);
    return true;
  }

  get bytesAcked(): number {
    return Math.min(this.source.size, (this.base - 1) * this.blksize);
  }

  private sendRaw(packet: Buffer): void {
    try {
      this.socket.send(packet);
    } catch {
      // The socket is closing: nothing more to say.
    }
  }

  private sendOack(again: boolean): void {
    if (again) this.retransmits++;
    this.sendRaw(this.options.oack!);
  }

  /** Sends blocks from `next` up to the end of the window. */
  private sendWindow(): void {
    if (this.loading) return;
    const { blksize, source, socket, packets } = this;
    const windowEnd = Math.min(this.base + this.windowsize - 1, this.lastBlock);
    while (this.next <= windowEnd) {
      const block = this.next;
      const offset = (block - 1) * blksize;
      const length = Math.min(blksize, source.size - offset);
      const slot = block % packets.length;
      const packet = packets[slot]!;
      if (length > 0 && !source.copyOut(offset, length, packet, 4)) {
        this.loadThenSend(offset);
        return;
      }
      writeDataHeader(packet, 0, block & 0xffff);
      try {
        // A full block fills its packet exactly: sent whole, dgram makes no slice (one object fewer per block).
        if (length === blksize) socket.send(packet);
        else socket.send(packet, 0, 4 + length);
      } catch {
        return; // closed under us (abort); `finish` has run
      }
      // A send the kernel could not take at once stays queued in libuv and
      // still points at this buffer: give the slot a fresh one.
      if (socket.getSendQueueCount() > 0) packets[slot] = Buffer.allocUnsafe(4 + blksize);
      if (block <= this.highestSent) this.retransmits++;
      else this.highestSent = block;
      this.next = block + 1;
    }
  }

  private loadThenSend(offset: number): void {
    this.loading = true;
    const windowStart = (this.base - 1) * this.blksize;
    this.source.load(Math.min(windowStart, offset), this.windowsize * this.blksize).then(
      () => {
        this.loading = false;
        if (this.state === 'data') this.sendWindow();
      },
      (error: unknown) => {
        this.loading = false;
        this.sendRaw(encodeError(ErrorCode.NotDefined, 'Read error'));
        this.finish('failed', `read error: ${(error as Error).message}`, false, 'read-error');
      },
    );
  }

  /** RFC 1350 §4: a packet from anyone but our client gets ERROR 5, and the transfer carries on. */
  private readonly onStranger = (_msg: Buffer, from: RemoteInfo): void => {
    if (this.state === 'finished' && from.port === this.options.peerPort && from.address === this.options.peerAddress) {
      // Our own client after the end (the connected socket is closed, so the twin gets it): a late duplicate, not a stranger.
      this.options.onMalformed?.('after-end');
      return;
    }
    try {
      this.options.strangerSocket?.send(UNKNOWN_TID, from.port, from.address);
    } catch {
      // closing
    }
    this.options.onUnknownTid?.(from);
  };

  private readonly onMessage = (msg: Buffer, _from: RemoteInfo): void => {
    if (this.state === 'finished') return;
    if (msg.length < 4 || msg[0] !== 0) {
      this.options.onMalformed?.('truncated');
      return;
    }
    const opcode = msg[1];
    if (opcode === Opcode.Ack) {
      this.onAck((msg[2]! << 8) | msg[3]!);
    } else if (opcode === Opcode.Error) {
      const code = (msg[2]! << 8) | msg[3]!;
      const nul = msg.indexOf(0, 4);
      const text = msg.toString('latin1', 4, nul < 0 ? msg.length : nul);
      // EDK2 (OVMF, most UEFI) asks with `tsize 0`, reads the size from our
      // OACK, then aborts with an ERROR and asks again for real.
      const probe = this.state === 'oack' && this.options.tsizeRequested;
      if (probe) this.finish('size-probe', null);
      else this.finish('failed', `client error ${code}: ${text}`, false, 'client-error');
    } else {
      this.options.onMalformed?.('unexpected-opcode');
    }
  };

  private onAck(wireBlock: number): void {
    if (this.state === 'oack') {
      if (wireBlock !== 0) return;
      this.state = 'data';
      this.progressed();
      this.sendWindow();
      return;
    }
    const lastAcked = this.base - 1;
    // Distance of the acknowledged block past the last one acknowledged, modulo rollover.
    const ahead = (wireBlock - (lastAcked & 0xffff)) & 0xffff;
    const inFlight = this.next - 1 - lastAcked;
    // ahead 0: a duplicate ACK. Answering it would double every later block
    // (the Sorcerer's Apprentice, RFC 1123 §4.2.3.1); only our timer resends.
    // ahead > inFlight: a stale ACK from before a rollover or a retransmit.
    if (ahead === 0) {
      this.clientHeard();
      return;
    }
    if (ahead > inFlight) return;
    const acked = lastAcked + ahead;
    this.base = acked + 1;
    this.options.onProgress?.(this.bytesAcked);
    if (acked >= this.lastBlock) {
      this.finish('done', null);
      return;
    }
    // RFC 7440 §4: an ACK short of the window's end means the client missed
    // the next block; resend the window from there.
    if (acked < this.next - 1) this.next = this.base;
    this.progressed();
    this.sendWindow();
  }

  /**
   * Called on every ACK that moves the transfer on. Re-arming a timer per
   * ACK is measurable at 50,000 ACKs a second, so this only notes the time;
   * the timer, when it fires, re-arms itself for what is left.
   */
  private progressed(): void {
    this.lastProgressAt = Date.now();
    if (this.tries !== 0 || this.timerMs !== this.baseTimeoutMs) {
      this.tries = 0;
      this.armTimer(this.baseTimeoutMs);
    }
  }

  /**
   * A duplicate ACK: the client is alive and its timer fired, so our last
   * DATA was lost. Not answered directly (Sorcerer's Apprentice, above): the
   * timer is brought forward to the first timeout after our last send, so
   * the resend goes out at once if that much time has passed, and a burst of
   * duplicates (which arrive within a round trip) causes one resend at most.
   * The count of tries is left alone, so a client that only repeats itself
   * is still given up on after `retries`.
   */
  private clientHeard(): void {
    if (this.timerMs === this.baseTimeoutMs) return;
    this.timerMs = this.baseTimeoutMs;
    if (this.timer) clearTimeout(this.timer);
    const waitMs = Math.max(0, this.lastProgressAt + this.baseTimeoutMs - Date.now());
    this.timer = setTimeout(this.onTimeout, waitMs);
  }

  /**
   * The last block has been sent and everything before the final window is
   * acknowledged: only the client's final ACK is missing. In lock-step that
   * is "all but the last block ACKed"; with a window the client ACKs the
   * whole final window at once (RFC 7440), so one lost ACK leaves it all
   * unacknowledged (seen at 30% loss: a 1 MiB windowsize-8 transfer the
   * client had exactly, counted failed 1,892 bytes short).
   */
  private get onlyFinalAckMissing(): boolean {
    return this.state === 'data' && this.highestSent >= this.lastBlock && this.base > this.lastBlock - this.windowsize;
  }

  private armTimer(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerMs = ms;
    this.timer = setTimeout(this.onTimeout, ms);
  }

  private readonly onTimeout = (): void => {
    if (this.state === 'finished') return;
    const idleMs = Date.now() - this.lastProgressAt;
    if (idleMs < this.timerMs) {
      // Progress since the timer was set: not a timeout yet.
      this.timer = setTimeout(this.onTimeout, this.timerMs - idleMs);
      return;
    }
    this.tries++;
    if (this.tries > this.options.retries) {
      if (this.onlyFinalAckMissing) {
        // RFC 1350 §6: the final ACK may be lost and the client need not
        // dally; it has every block. Nothing to tell it.
        this.finish('done', 'final ACK not received', true);
        return;
      }
      this.sendRaw(encodeError(ErrorCode.NotDefined, 'Transfer timed out'));
      this.finish('failed', 'timeout', false, 'timeout');
      return;
    }
    this.timer = null;
    // Backoff: the next wait counts from this retransmission.
    this.lastProgressAt = Date.now();
    this.armTimer(retransmitWaitMs(this.baseTimeoutMs, this.tries));
    if (this.state === 'oack') {
      this.sendOack(true);
    } else {
      this.next = this.base;
      this.sendWindow();
    }
  };

  private readonly onSocketError = (error: Error): void => {
    // ECONNREFUSED: an ICMP port unreachable for a DATA we sent. After the
    // last block, with all before it acknowledged, that is a client that got
    // the file and closed its port while its final ACK was lost.
    if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED' && this.onlyFinalAckMissing) {
      this.finish('done', 'final ACK not received: client closed its port', true);
      return;
    }
    this.finish('failed', `socket error: ${error.message}`, false, 'socket-error');
  };

  // A failure always says which kind it is (the rate-limited warn line groups by it): the compiler checks it.
  private finish(outcome: 'failed', reason: string, finalAckMissing: false, failure: TransferFailureKind): void;
  private finish(outcome: Exclude<TransferOutcome, 'failed'>, reason: string | null, finalAckMissing?: boolean): void;
  private finish(outcome: TransferOutcome, reason: string | null, finalAckMissing = false, failure: TransferFailureKind | null = null): void {
    if (this.state === 'finished') return;
    this.state = 'finished';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.socket.off('message', this.onMessage);
    const closeQuietly = (socket: Socket | null): void => {
      try {
        socket?.close();
      } catch {
        // already closed
      }
    };
    closeQuietly(this.socket);
    // A done transfer delivered the whole file, final ACK or not.
    const bytes = finalAckMissing ? this.source.size : this.bytesAcked;
    const result: TransferResult = { outcome, bytes, retransmits: this.retransmits, durationMs: Date.now() - this.startedAt, reason, failure, finalAckMissing };
    const twin = this.options.strangerSocket;
    if (twin === null) {
      this.resolve(result);
      return;
    }
    setTimeout(() => {
      closeQuietly(twin);
      this.resolve(result);
    }, PORT_LINGER_MS);
  }
}

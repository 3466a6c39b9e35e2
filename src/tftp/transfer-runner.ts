/**
 * Where transfers run. Node sends one datagram per system call, and on a
 * boot storm the sends (with the kernel's loopback/NIC work they carry) are
 * nearly all the CPU a TFTP server uses; one thread caps the service at one
 * core. So transfers run in a small pool of worker threads, each with its
 * own sockets and event loop, while the main thread takes requests, checks
 * names and limits, and keeps the counters. Cached files live in shared
 * memory, so a worker reads the same bytes without a copy.
 *
 * Without a built worker script (tests running TypeScript sources) or with
 * one CPU, transfers run on the main thread: same code, same behaviour.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { blockSourceFor, type SourceSpec } from './block-source.js';
import { openTransferSockets, type TransferPortChoice } from './sockets.js';
import { Transfer, type NegotiatedTransfer, type TransferResult } from './transfer.js';

/** Largest worker pool, whatever the CPU count: past this the NIC, not the CPU, is the limit. */
export const MAX_TRANSFER_WORKERS = 4;
/**
 * V8 heap limits of a transfer worker (file content is shared memory, outside these). Every received
 * datagram leaves a Buffer and an rinfo object behind: a bigger nursery only touches more pages
 * (4 MB → 1 MB: peak RSS 3 MB lower at 200 clients, the same CPU per block).
 */
export const WORKER_YOUNG_GENERATION_MB = 1;
export const WORKER_OLD_GENERATION_MB = 64;
/** How often workers report bytes done for /api/transfers (the hot path only writes a field). */
export const PROGRESS_REPORT_MS = 250;
/** How often workers report their V8 heap (not in the main isolate's figures) for /api/status. */
export const HEAP_REPORT_MS = 2000;

/** A worker thread's V8 heap as it last reported it. */
export interface WorkerHeap {
  usedBytes: number;
  totalBytes: number;
  physicalBytes: number;
  mallocedBytes: number;
  externalBytes: number;
  /** Transfers it was running then. */
  running: number;
}

/** Everything a transfer needs, in a form that can cross to a worker thread. */
export interface TransferSpec extends NegotiatedTransfer {
  client: { address: string; port: number };
  ports: TransferPortChoice;
  source: SourceSpec;
}

export interface TransferHooks {
  onProgress(bytes: number): void;
  onUnknownTid(from: { address: string; port: number }): void;
  onMalformed(reason: string): void;
}

export interface RunningTransfer {
  /** Resolves once the transfer's port is bound and the first packet sent; rejects when no port could be bound. */
  ready: Promise<void>;
  finished: Promise<TransferResult>;
  abort(message: string): void;
  /**
   * The client sent its RRQ again from the same port. Resolves true when the
   * transfer is over or ends now because the client has moved on (see
   * Transfer.requestedAgain), false when it is still running (a retransmitted RRQ).
   */
  requestAgain(): Promise<boolean>;
}

export interface TransferRunner {
  /** Worker threads in use (0: the main thread runs transfers). */
  readonly threads: number;
  /** Each worker's heap as last reported (null until its first report). */
  heaps(): (WorkerHeap | null)[];
  run(spec: TransferSpec, hooks: TransferHooks): RunningTransfer;
  close(): Promise<void>;
}

/** Runs one transfer on the current thread (main thread or a worker). */
export function runTransferHere(spec: TransferSpec, hooks: TransferHooks): RunningTransfer {
  let transfer: Transfer | null = null;
  let abortedWith: string | null = null;
  let resolveFinished!: (result: TransferResult) => void;
  const finished = new Promise<TransferResult>((resolve) => {
    resolveFinished = resolve;
  });
  const ready = (async () => {
    const { client, ports, source, ...negotiated } = spec;
    const sockets = await openTransferSockets(ports, client);
    transfer = new Transfer({
      ...sockets,
      ...negotiated,
      peerAddress: client.address,
      peerPort: client.port,
      source: blockSourceFor(source),
      onProgress: hooks.onProgress,
      onUnknownTid: hooks.onUnknownTid,
      onMalformed: hooks.onMalformed,
    });
    transfer.start().then(resolveFinished, () => undefined);
    if (abortedWith !== null) transfer.abort(abortedWith);
  })();
  ready.catch(() => undefined);
  return {
    ready,
    finished,
    abort: (message) => {
      if (transfer) transfer.abort(message);
      else abortedWith = message;
    },
    requestAgain: () => Promise.resolve(transfer !== null && transfer.requestedAgain()),
  };
}

class InProcessRunner implements TransferRunner {
  readonly threads = 0;
  heaps(): (WorkerHeap | null)[] {
    return [];
  }
  run(spec: TransferSpec, hooks: TransferHooks): RunningTransfer {
    return runTransferHere(spec, hooks);
  }
  async close(): Promise<void> {}
}

// ---- worker protocol

export type ToWorker = { type: 'run'; id: number; spec: TransferSpec } | { type: 'abort'; id: number; message: string } | { type: 'request-again'; id: number; ask: number };

export type FromWorker =
  | { type: 'ready'; id: number }
  | { type: 'ready-failed'; id: number; message: string; code: string | null }
  | { type: 'progress'; entries: [id: number, bytes: number][] }
  | { type: 'unknown-tid'; id: number; address: string; port: number }
  | { type: 'malformed'; id: number; reason: string }
  | { type: 'request-again'; ask: number; ended: boolean }
  | { type: 'done'; id: number; result: TransferResult }
  | { type: 'heap'; heap: WorkerHeap };

interface Pending {
  hooks: TransferHooks;
  ready: { resolve: () => void; reject: (error: Error) => void };
  finished: (result: TransferResult) => void;
}

class PooledWorker {
  readonly pending = new Map<number, Pending>();
  /** requestAgain() answers awaited from the worker, by ask number. */
  private readonly asks = new Map<number, (ended: boolean) => void>();
  private nextAsk = 1;
  private worker: Worker;
  private online = false;
  closing = false;
  /** It died before ever starting (a broken install, bad flags): not respawned, its share runs on the main thread. */
  broken = false;
  heap: WorkerHeap | null = null;

  constructor(
    private readonly url: URL,
    private readonly onProblem: (message: string, error?: unknown) => void,
  ) {
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    // Not the parent's flags: `--input-type`, `--eval` and the like break a worker.
    const worker = new Worker(this.url, {
      execArgv: process.execArgv.filter((flag) => /^--(?:enable-source-maps|inspect)/.test(flag)),
      // A worker holds sockets, a packet buffer per window slot and short-lived
      // receive buffers; a small young generation keeps its RSS to a few MB.
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB, maxOldGenerationSizeMb: WORKER_OLD_GENERATION_MB },
    });
    worker.unref();
    this.online = false;
    worker.once('online', () => {
      this.online = true;
    });
    worker.on('message', (message: FromWorker) => this.onMessage(message));
    // A crashed worker fails its transfers and is replaced; the service goes on.
    worker.on('error', (error) => {
      this.onProblem('TFTP transfer worker crashed', error);
      this.failAll(`transfer worker crashed: ${error.message}`);
    });
    worker.on('exit', () => {
      this.failAll('transfer worker exited');
      if (this.closing) return;
      if (!this.online) {
        this.broken = true;
        this.onProblem('TFTP transfer worker could not start; transfers run on the main thread');
        return;
      }
      this.worker = this.spawn();
    });
    return worker;
  }

  get load(): number {
    return this.pending.size;
  }

  post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  requestAgain(id: number): Promise<boolean> {
    if (!this.pending.has(id)) return Promise.resolve(true);
    const ask = this.nextAsk++;
    return new Promise((resolve) => {
      this.asks.set(ask, resolve);
      this.post({ type: 'request-again', id, ask });
    });
  }

  private failAll(reason: string): void {
    for (const answer of this.asks.values()) answer(true);
    this.asks.clear();
    for (const [id, pending] of this.pending) {
      pending.ready.reject(new Error(reason));
      pending.finished({ outcome: 'failed', bytes: 0, retransmits: 0, durationMs: 0, reason, failure: 'worker-lost', finalAckMissing: false });
      this.pending.delete(id);
    }
  }

  private onMessage(message: FromWorker): void {
    if (message.type === 'progress') {
      for (const [id, bytes] of message.entries) this.pending.get(id)?.hooks.onProgress(bytes);
      return;
    }
    if (message.type === 'heap') {
      this.heap = message.heap;
      return;
    }
    if (message.type === 'request-again') {
      this.asks.get(message.ask)?.(message.ended);
      this.asks.delete(message.ask);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    switch (message.type) {
      case 'ready':
        pending.ready.resolve();
        break;
      case 'ready-failed': {
        const error = Object.assign(new Error(message.message), { code: message.code ?? undefined });
        pending.ready.reject(error);
        this.pending.delete(message.id);
        break;
      }
      case 'unknown-tid':
        pending.hooks.onUnknownTid({ address: message.address, port: message.port });
        break;
      case 'malformed':
        pending.hooks.onMalformed(message.reason);
        break;
      case 'done':
        pending.hooks.onProgress(message.result.bytes);
        pending.finished(message.result);
        this.pending.delete(message.id);
        break;
    }
  }

  async terminate(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}

/**
 * The bytes to post to a worker. A small Buffer is a view into Node's
 * shared 8 KiB pool, and a structured clone copies a view's whole
 * ArrayBuffer: every OACK (and small generated file) cost the worker a copy
 * of the pool, kept until its next GC (worker external memory 2.8 → 4-8 MiB
 * over a 100,000-packet fuzz run). Shared memory (cached files) crosses as
 * it is; anything else as exactly its own bytes.
 */
function ownBytes(bytes: Buffer | null): Buffer | null {
  if (bytes === null || bytes.buffer instanceof SharedArrayBuffer) return bytes;
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  return Buffer.from(new Uint8Array(bytes).buffer);
}

class WorkerPoolRunner implements TransferRunner {
  private readonly workers: PooledWorker[];
  private nextId = 1;
  /** Transfers the main thread runs itself: it is one of the lanes, so N CPUs need only N-1 workers (each costs RSS). */
  private mainThreadLoad = 0;

  constructor(url: URL, count: number, onProblem: (message: string, error?: unknown) => void) {
    this.workers = Array.from({ length: count }, () => new PooledWorker(url, onProblem));
  }

  get threads(): number {
    return this.workers.length;
  }

  heaps(): (WorkerHeap | null)[] {
    return this.workers.map((worker) => worker.heap);
  }

  run(spec: TransferSpec, hooks: TransferHooks): RunningTransfer {
    // Least busy worker: transfers differ in size, so round-robin drifts.
    let worker: PooledWorker | null = null;
    for (const candidate of this.workers) if (!candidate.broken && (worker === null || candidate.load < worker.load)) worker = candidate;
    // The main thread also answers requests and keeps the books, so it takes a transfer only when strictly less busy.
    if (worker === null || this.mainThreadLoad < worker.load) {
      this.mainThreadLoad++;
      const here = runTransferHere(spec, hooks);
      void here.finished.then(() => this.mainThreadLoad--);
      here.ready.catch(() => this.mainThreadLoad--);
      return here;
    }
    const chosen = worker;
    const id = this.nextId++;
    let readyHandlers!: Pending['ready'];
    const ready = new Promise<void>((resolve, reject) => {
      readyHandlers = { resolve, reject };
    });
    ready.catch(() => undefined);
    let finishedHandler!: (result: TransferResult) => void;
    const finished = new Promise<TransferResult>((resolve) => {
      finishedHandler = resolve;
    });
    chosen.pending.set(id, { hooks, ready: readyHandlers, finished: finishedHandler });
    chosen.post({ type: 'run', id, spec: { ...spec, oack: ownBytes(spec.oack), source: { ...spec.source, content: ownBytes(spec.source.content) } } });
    return { ready, finished, abort: (message) => chosen.post({ type: 'abort', id, message }), requestAgain: () => chosen.requestAgain(id) };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

/**
 * The pool for this machine: `NETBOOT_TFTP_WORKERS` workers (0 = main
 * thread only), by default one per CPU beyond the first (the main thread is
 * a lane too), at most MAX_TRANSFER_WORKERS.
 */
export function createTransferRunner(onProblem: (message: string, error?: unknown) => void = () => undefined): TransferRunner {
  const url = new URL('./transfer-worker.js', import.meta.url);
  const fromEnv = process.env['NETBOOT_TFTP_WORKERS'];
  const wanted = fromEnv !== undefined && /^\d+$/.test(fromEnv) ? Number(fromEnv) : Math.min(availableParallelism() - 1, MAX_TRANSFER_WORKERS);
  if (wanted === 0 || !existsSync(fileURLToPath(url))) return new InProcessRunner();
  return new WorkerPoolRunner(url, wanted, onProblem);
}

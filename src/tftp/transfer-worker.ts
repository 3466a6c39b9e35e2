/**
 * A transfer worker thread (see transfer-runner.ts): runs the transfers the
 * main thread hands it and reports back. Progress is batched on a timer so
 * the hot path never posts a message per block.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { HEAP_REPORT_MS, PROGRESS_REPORT_MS, runTransferHere, type FromWorker, type RunningTransfer, type ToWorker, type TransferSpec } from './transfer-runner.js';

const port = parentPort;
if (port === null) throw new Error('transfer-worker.js runs only as a worker thread');

const running = new Map<number, RunningTransfer>();
const progress = new Map<number, number>();

function post(message: FromWorker): void {
  port!.postMessage(message);
}

/** Structured clone turns Buffers into plain Uint8Arrays; view them as Buffers again (no copy). */
function asBuffer(bytes: Uint8Array | null): Buffer | null {
  return bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const timer = setInterval(() => {
  if (progress.size === 0) return;
  post({ type: 'progress', entries: [...progress] });
  progress.clear();
}, PROGRESS_REPORT_MS);
timer.unref();

// The worker's heap is not in the main isolate's figures: reported for /api/status (tftp.workers).
const heapTimer = setInterval(() => {
  const heap = getHeapStatistics();
  post({ type: 'heap', heap: { usedBytes: heap.used_heap_size, totalBytes: heap.total_heap_size, physicalBytes: heap.total_physical_size, mallocedBytes: heap.malloced_memory, externalBytes: heap.external_memory, running: running.size } });
}, HEAP_REPORT_MS);
heapTimer.unref();

port.on('message', (message: ToWorker) => {
  if (message.type === 'abort') {
    running.get(message.id)?.abort(message.message);
    return;
  }
  if (message.type === 'request-again') {
    const { ask } = message;
    const transfer = running.get(message.id);
    if (transfer === undefined) post({ type: 'request-again', ask, ended: true });
    else void transfer.requestAgain().then((ended) => post({ type: 'request-again', ask, ended }));
    return;
  }
  const { id } = message;
  const spec: TransferSpec = {
    ...message.spec,
    oack: asBuffer(message.spec.oack),
    source: { ...message.spec.source, content: asBuffer(message.spec.source.content) },
  };
  const transfer = runTransferHere(spec, {
    onProgress: (bytes) => progress.set(id, bytes),
    onUnknownTid: (from) => post({ type: 'unknown-tid', id, address: from.address, port: from.port }),
    onMalformed: (reason) => post({ type: 'malformed', id, reason }),
  });
  running.set(id, transfer);
  transfer.ready.then(
    () => post({ type: 'ready', id }),
    (error: NodeJS.ErrnoException) => {
      running.delete(id);
      post({ type: 'ready-failed', id, message: error.message, code: error.code ?? null });
    },
  );
  void transfer.finished.then((result) => {
    running.delete(id);
    progress.delete(id);
    post({ type: 'done', id, result });
  });
});

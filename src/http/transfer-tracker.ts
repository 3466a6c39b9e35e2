/**
 * HTTP downloads in /api/transfers and the status page, and their events.
 * A file route calls `expect(reply, file)` before handing the file to
 * @fastify/send; the onSend hook then sees the stream and registers the
 * transfer, once per response (not per chunk). Progress is the file
 * stream's `bytesRead`, sampled twice a second and when the API is read:
 * counting chunks on the hot path would cost throughput for a number nobody
 * looks at between samples.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TransferHandle } from '../runtime/transfers.js';
import type { ServiceContext } from '../supervisor/service.js';
import { requestClientAddress, macForClient } from './client.js';

const PROGRESS_SAMPLE_MS = 500;

interface ActiveDownload {
  handle: TransferHandle;
  stream: { bytesRead: number };
  size: number;
}

function isFileStream(payload: unknown): payload is NodeJS.ReadableStream & { bytesRead: number } {
  return typeof payload === 'object' && payload !== null && typeof (payload as { bytesRead?: unknown }).bytesRead === 'number' && typeof (payload as { pipe?: unknown }).pipe === 'function';
}

export class HttpTransferTracker {
  private readonly expected = new WeakMap<FastifyReply, string>();
  private readonly active = new Set<ActiveDownload>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly context: ServiceContext) {}

  /** The reply is about to carry `file` (a display path such as `/tftp/demo/vmlinuz`). */
  expect(reply: FastifyReply, file: string): void {
    this.expected.set(reply, file);
  }

  /** Copies every active download's progress into the registry. */
  sample(): void {
    for (const download of this.active) download.handle.progress(Math.min(download.stream.bytesRead, download.size));
  }

  get activeCount(): number {
    return this.active.size;
  }

  /** The onSend hook: returns the payload untouched. */
  onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): void {
    const file = this.expected.get(reply);
    if (file === undefined) return;
    this.expected.delete(reply);
    if (request.method !== 'GET' || (reply.statusCode !== 200 && reply.statusCode !== 206) || !isFileStream(payload)) return;

    const config = this.context.config();
    const ip = requestClientAddress(request);
    const mac = macForClient(this.context, config, ip);
    const size = Number(reply.getHeader('content-length') ?? Number.NaN);
    const range = reply.statusCode === 206 ? String(reply.getHeader('content-range') ?? '') : null;
    const host = mac === null ? null : config.hostsByMac.get(mac)?.name ?? null;
    const handle = this.context.transfers.begin({ service: 'http', client: `${ip}:${request.socket.remotePort ?? 0}`, mac, file, size: Number.isFinite(size) ? size : null });
    const download: ActiveDownload = { handle, stream: payload, size: Number.isFinite(size) ? size : Number.POSITIVE_INFINITY };
    this.active.add(download);
    this.updateGauge();
    this.ensureTimer();
    this.context.events.record({
      kind: 'http.file',
      mac,
      ip,
      host,
      outcome: 'ok',
      message: range ? `${file} (${range})` : file,
      details: { file, bytes: Number.isFinite(size) ? size : null, range },
    });

    let finished = false;
    let closed = false;
    reply.raw.once('finish', () => { finished = true; });
    const onClose = (): void => {
      if (closed) return;
      closed = true;
      const sent = Math.min(payload.bytesRead, download.size);
      handle.progress(sent);
      handle.end();
      this.active.delete(download);
      this.updateGauge();
      this.context.metrics.inc('netboot_http_bytes_sent_total', 'File bytes sent over HTTP', {}, sent);
      if (!finished && !reply.raw.writableFinished) {
        this.context.events.record({ kind: 'http.file', mac, ip, host, outcome: 'failure', message: `${file}: client closed the connection after ${sent} of ${size} bytes`, details: { file, bytesSent: sent, bytes: size } });
      }
      if (this.active.size === 0) this.stopTimer();
    };
    reply.raw.once('close', onClose);
    // A client that sends its request and closes at once (the fuzzer's pattern; firmware giving up) may be gone
    // while the route awaited the disk: the response's 'close' was emitted then and will not come again, and the
    // download (with its 256 KiB read buffer) would stay in the active list for ever (fuzz run: +2 KiB RSS per request).
    if (reply.raw.destroyed || request.raw.socket?.destroyed === true) {
      reply.raw.off('close', onClose);
      onClose();
    }
  }

  close(): void {
    this.stopTimer();
  }

  private updateGauge(): void {
    this.context.metrics.set('netboot_http_transfers_active', 'HTTP file downloads in progress', this.active.size);
  }

  private ensureTimer(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.sample(), PROGRESS_SAMPLE_MS);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }
}

/**
 * HTTP downloads in /api/transfers and the status page, and their events.
 * A file route calls `begin` once per response, right before the pump
 * (file-stream.ts) starts; the pump adds to the returned `sent` as the kernel
 * takes bytes (one field write per chunk), and this samples it twice a second
 * and when the API is read: a registry update per chunk would cost
 * throughput for a number nobody looks at between samples.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { TransferHandle } from '../runtime/transfers.js';
import type { ServiceContext } from '../supervisor/service.js';
import type { StreamProgress } from './file-stream.js';
import { requestClientAddress, macForClient } from './client.js';

const PROGRESS_SAMPLE_MS = 500;

interface ActiveDownload extends StreamProgress {
  handle: TransferHandle;
}

export interface DownloadFacts {
  /** A display path such as `/tftp/demo/vmlinuz`. */
  file: string;
  /** Bytes this response carries (the range's length for a 206). */
  bytes: number;
  /** The Content-Range of a 206, else null. */
  range: string | null;
}

export class HttpTransferTracker {
  private readonly active = new Set<ActiveDownload>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly context: ServiceContext) {}

  /** Copies every active download's progress into the registry. */
  sample(): void {
    for (const download of this.active) download.handle.progress(download.sent);
  }

  get activeCount(): number {
    return this.active.size;
  }

  /**
   * Registers a GET download about to be streamed on `res` and records its
   * event; it leaves the active list when `res` closes, however that happens.
   * The caller adds the bytes sent to the returned progress.
   */
  begin(request: FastifyRequest, res: ServerResponse, facts: DownloadFacts): StreamProgress {
    const config = this.context.config();
    const ip = requestClientAddress(request);
    const mac = macForClient(this.context, config, ip);
    const { file, bytes, range } = facts;
    const host = mac === null ? null : config.hostsByMac.get(mac)?.name ?? null;
    const handle = this.context.transfers.begin({ service: 'http', client: `${ip}:${request.socket.remotePort ?? 0}`, mac, file, size: bytes });
    const download: ActiveDownload = { handle, sent: 0 };
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
      details: { file, bytes, range },
    });

    let closed = false;
    const onClose = (): void => {
      if (closed) return;
      closed = true;
      const sent = download.sent;
      handle.progress(sent);
      handle.end();
      this.active.delete(download);
      this.updateGauge();
      this.context.metrics.inc('netboot_http_bytes_sent_total', 'File bytes sent over HTTP', {}, sent);
      if (!res.writableFinished) {
        this.context.events.record({ kind: 'http.file', mac, ip, host, outcome: 'failure', message: `${file}: client closed the connection after ${sent} of ${bytes} bytes`, details: { file, bytesSent: sent, bytes } });
      }
      if (this.active.size === 0) this.stopTimer();
    };
    // A client that sends its request and closes at once (the fuzzer's pattern; firmware giving up) may be gone
    // while the route awaited the disk: the response's 'close' was emitted then and will not come again, and the
    // download would stay in the active list for ever.
    if (res.destroyed || request.raw.socket?.destroyed === true) queueMicrotask(onClose);
    else res.once('close', onClose);
    return download;
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

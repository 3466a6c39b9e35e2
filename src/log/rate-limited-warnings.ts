/**
 * Warn lines for events a stranger can cause at will (refused requests),
 * without letting them flood the log. Each event is a debug line; at warn,
 * per interval:
 * - the first event of each key (say client + reason) is one line with all
 *   its fields, at once, so a machine failing to boot or a request outside a
 *   root is seen straight away with the client's address, and again each
 *   interval while it goes on;
 * - at most `detailedMax` such lines per interval; the rest is one summary
 *   line at the end of the interval with counts by reason and an example.
 * Memory is bounded by the same caps. Used for refused HTTP file requests
 * (src/http/routes/files.ts) and for refused TFTP requests and failed TFTP
 * transfers (src/tftp/warn-log.ts).
 */
import type { Logger } from './logger.js';

export const RATE_LIMIT_INTERVAL_MS = 30_000;
export const RATE_LIMIT_DETAILED_MAX = 20;
/** Distinct clients counted per interval for the summary (the count saturates here). */
const RATE_LIMIT_DISTINCT_CLIENTS_MAX = 1024;

export interface RateLimitedWarningsOptions<Fields> {
  /** The warn (and debug) line's message, e.g. 'HTTP file request refused'. */
  message: string;
  /** The summary line's message. */
  summaryMessage: string;
  /** Events with the same key get one detailed line per interval. */
  key: (fields: Fields) => string;
  /** Counted by this in the summary; should come from a fixed set. */
  reason: (fields: Fields) => string;
  /** Counted as distinct clients in the summary. */
  client: (fields: Fields) => string;
  intervalMs?: number;
  detailedMax?: number;
}

export class RateLimitedWarnings<Fields extends object> {
  private timer: NodeJS.Timeout | null = null;
  private detailed = new Set<string>();
  private byReason: Record<string, number> = {};
  private suppressed = 0;
  private clients = new Set<string>();
  private example: Fields | null = null;
  private readonly intervalMs: number;
  private readonly detailedMax: number;

  constructor(
    private readonly log: Logger,
    private readonly options: RateLimitedWarningsOptions<Fields>,
  ) {
    this.intervalMs = options.intervalMs ?? RATE_LIMIT_INTERVAL_MS;
    this.detailedMax = options.detailedMax ?? RATE_LIMIT_DETAILED_MAX;
  }

  /** Logs one event: at warn if its key has not had its line this interval and the cap allows, else at debug. */
  note(fields: Fields): void {
    if (this.timer === null) this.openInterval();
    const key = this.options.key(fields);
    if (!this.detailed.has(key) && this.detailed.size < this.detailedMax) {
      this.detailed.add(key);
      this.log.warn(fields as Record<string, unknown>, this.options.message);
      return;
    }
    this.log.debug(fields as Record<string, unknown>, this.options.message);
    this.suppressed++;
    const reason = this.options.reason(fields);
    this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
    if (this.clients.size < RATE_LIMIT_DISTINCT_CLIENTS_MAX) this.clients.add(this.options.client(fields));
    this.example ??= fields;
  }

  /** Logs what is pending now (at service stop) and stops the timer. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flush();
  }

  private openInterval(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      // Events during the interval keep the limit in force for the next one; a quiet one ends it.
      const busy = this.detailed.size > 0 || this.suppressed > 0;
      this.flush();
      if (busy) this.openInterval();
    }, this.intervalMs);
    this.timer.unref();
  }

  private flush(): void {
    if (this.suppressed > 0) {
      const clients = this.clients.size >= RATE_LIMIT_DISTINCT_CLIENTS_MAX ? `${RATE_LIMIT_DISTINCT_CLIENTS_MAX}+` : this.clients.size;
      this.log.warn({ count: this.suppressed, byReason: this.byReason, clients, example: this.example, intervalS: this.intervalMs / 1000 }, this.options.summaryMessage);
    }
    this.detailed = new Set();
    this.suppressed = 0;
    this.byReason = {};
    this.clients = new Set();
    this.example = null;
  }
}

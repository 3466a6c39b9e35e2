/**
 * Warn-level logging of refused TFTP requests without a flood. A scanner or
 * a misconfigured rack can cause thousands of refusals a minute (9,033 warn
 * lines in one 100,000-packet fuzz run when each was a line). Every refusal
 * is still a debug line and a counter; at warn, per interval:
 * - the first refusal of each (client address, reason, file) is one line
 *   with all its fields, at once: a machine failing to boot, or a request
 *   outside the root (issue 8 §8: logged with the client's address), is seen
 *   straight away, and again each interval while it goes on;
 * - at most REFUSAL_DETAILED_LINES_MAX such lines per interval; the rest is
 *   one summary line at the end of the interval with counts by reason.
 * Memory is bounded by the same cap.
 */
import type { Logger } from '../log/logger.js';

/** The summary interval. */
export const REFUSAL_WARN_INTERVAL_MS = 30_000;
/** Detailed warn lines per interval at most; further refusals go into the summary. */
export const REFUSAL_DETAILED_LINES_MAX = 20;
/** Distinct client addresses counted per interval for the summary (the count saturates here). */
export const REFUSAL_DISTINCT_CLIENTS_MAX = 1024;

export interface RefusalFields {
  client: string;
  port: number;
  file: string;
  reason: string;
  errorCode: number;
}

export class RefusalWarnings {
  private timer: NodeJS.Timeout | null = null;
  /** (client, reason, file) already logged in full this interval. */
  private detailed = new Set<string>();
  private byReason: Record<string, number> = {};
  private suppressed = 0;
  private clients = new Set<string>();
  private example: RefusalFields | null = null;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = REFUSAL_WARN_INTERVAL_MS,
  ) {}

  /** Notes one refusal that an admin should hear about. */
  note(fields: RefusalFields): void {
    if (this.timer === null) this.openInterval();
    const key = `${fields.client}\u0000${fields.reason}\u0000${fields.file}`;
    if (!this.detailed.has(key) && this.detailed.size < REFUSAL_DETAILED_LINES_MAX) {
      this.detailed.add(key);
      this.log.warn(fields, 'TFTP request refused');
      return;
    }
    this.suppressed++;
    this.byReason[fields.reason] = (this.byReason[fields.reason] ?? 0) + 1;
    if (this.clients.size < REFUSAL_DISTINCT_CLIENTS_MAX) this.clients.add(fields.client);
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
      // Refusals during the interval keep the limit in force for the next one; a quiet one ends it.
      const busy = this.detailed.size > 0 || this.suppressed > 0;
      this.flush();
      if (busy) this.openInterval();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Writes the summary line if anything was held back, and starts a fresh interval's books. */
  private flush(): void {
    if (this.suppressed > 0) {
      const clients = this.clients.size >= REFUSAL_DISTINCT_CLIENTS_MAX ? `${REFUSAL_DISTINCT_CLIENTS_MAX}+` : this.clients.size;
      this.log.warn({ refused: this.suppressed, byReason: this.byReason, clients, example: this.example, intervalS: this.intervalMs / 1000 }, 'TFTP requests refused (interval summary, not logged one by one)');
    }
    this.detailed = new Set();
    this.suppressed = 0;
    this.byReason = {};
    this.clients = new Set();
    this.example = null;
  }
}

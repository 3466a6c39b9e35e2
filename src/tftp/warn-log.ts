/**
 * The TFTP service's warn lines for things a stranger can cause at will:
 * refused requests and failed transfers. A scanner, a fuzzer or a rack of
 * machines looping on a missing file can cause thousands of each a minute
 * (9,033 refusal lines, and 600-700 "transfer failed" lines of fuzz clients
 * that vanished, in one 100,000-packet fuzz run when each was a line). Both
 * go through the shared RateLimitedWarnings (src/log/rate-limited-warnings.ts):
 * the first of each key per interval is a warn line with all its fields at
 * once (a machine failing to boot is seen straight away, with its address and
 * file), at most a fixed number per interval, the rest debug lines and one
 * summary with counts. Counters, metrics and /api/events still see every one.
 */
import type { Logger } from '../log/logger.js';
import { RateLimitedWarnings } from '../log/rate-limited-warnings.js';
import type { TransferFailureKind } from './transfer.js';

export interface RefusalFields {
  client: string;
  port: number;
  file: string;
  /** From the closed set TftpRefusalReason. */
  reason: string;
  errorCode: number;
}

export interface FailureFields {
  /** The client's `address:port`. */
  client: string;
  file: string;
  reason: string | null;
  failure: TransferFailureKind;
  [field: string]: unknown;
}

/** Refusals: one detailed line per (client address, reason, file) per interval, so each missing file a client asks for is named. */
export function refusalWarnings(log: Logger): RateLimitedWarnings<RefusalFields> {
  return new RateLimitedWarnings<RefusalFields>(log, {
    message: 'TFTP request refused',
    summaryMessage: 'TFTP requests refused (interval summary, not logged one by one)',
    key: (fields) => `${fields.client}\u0000${fields.reason}\u0000${fields.file}`,
    reason: (fields) => fields.reason,
    client: (fields) => fields.client,
  });
}

/** The address part of `address:port`. */
function addressOf(client: string): string {
  const colon = client.lastIndexOf(':');
  return colon === -1 ? client : client.slice(0, colon);
}

/**
 * Failed transfers: one detailed line per (client address, kind of failure)
 * per interval. By address, not address:port: a client that retries from a
 * new port each time is still one machine failing to boot.
 */
export function failureWarnings(log: Logger): RateLimitedWarnings<FailureFields> {
  return new RateLimitedWarnings<FailureFields>(log, {
    message: 'TFTP transfer failed',
    summaryMessage: 'TFTP transfers failed (interval summary, not logged one by one)',
    key: (fields) => `${addressOf(fields.client)}\u0000${fields.failure}`,
    reason: (fields) => fields.failure,
    client: (fields) => addressOf(fields.client),
  });
}

/**
 * Option negotiation for a read request (RFC 2347), pure: what the client
 * asked + our limits → what we grant and the OACK that says so. Unknown or
 * unacceptable options are simply left out of the OACK (RFC 2347 §3: the
 * server "may" refuse an option by omitting it); we never answer ERROR 8,
 * because a firmware that gets ERROR 8 fails the boot instead of retrying
 * without options.
 */
import type { TftpOptions } from './codec.js';

/** RFC 1350 block size, used when blksize is not negotiated. */
export const DEFAULT_BLKSIZE = 512;
/** RFC 2348 §2: valid blksize values. */
export const BLKSIZE_MIN = 8;
export const BLKSIZE_MAX = 65464;
/** RFC 2349 §2: valid timeout values, in seconds. */
export const TIMEOUT_MIN_S = 1;
export const TIMEOUT_MAX_S = 255;
/** RFC 7440 §4: valid windowsize values. */
export const WINDOWSIZE_MIN = 1;
export const WINDOWSIZE_MAX = 65535;

export interface NegotiationLimits {
  /** Largest blksize granted (config, per-host and per-firmware caps already folded in). */
  blksizeMax: number;
  windowsizeMax: number;
}

export interface NegotiationResult {
  blksize: number;
  windowsize: number;
  /** Retransmission timeout the client asked for (RFC 2349), or null for ours. */
  timeoutS: number | null;
  /** The client sent `tsize` (EDK2 sends `tsize 0` first to learn the size, then aborts). */
  tsizeRequested: boolean;
  /** Options to send in an OACK, in the client's order; empty means no OACK (start with DATA 1). */
  oack: TftpOptions;
}

/** Strictly decimal, no sign, no spaces: `parseInt('12abc')` would accept garbage. */
function parseDecimal(text: string): number | null {
  if (!/^[0-9]{1,10}$/.test(text)) return null;
  return Number(text);
}

/**
 * `fileSize` is the size of what will be sent (after netascii translation),
 * or null when not known in advance (then `tsize` is left out).
 */
export function negotiateOptions(requested: TftpOptions, limits: NegotiationLimits, fileSize: number | null): NegotiationResult {
  const result: NegotiationResult = { blksize: DEFAULT_BLKSIZE, windowsize: 1, timeoutS: null, tsizeRequested: false, oack: [] };
  for (const [name, text] of requested) {
    const value = parseDecimal(text);
    switch (name) {
      case 'blksize': {
        // RFC 2348: values below 8 are invalid; above our cap we grant the cap.
        if (value === null || value < BLKSIZE_MIN) break;
        const granted = Math.min(value, limits.blksizeMax, BLKSIZE_MAX);
        result.blksize = granted;
        result.oack.push([name, String(granted)]);
        break;
      }
      case 'windowsize': {
        if (value === null || value < WINDOWSIZE_MIN) break;
        const granted = Math.max(WINDOWSIZE_MIN, Math.min(value, limits.windowsizeMax, WINDOWSIZE_MAX));
        result.windowsize = granted;
        result.oack.push([name, String(granted)]);
        break;
      }
      case 'timeout':
        // RFC 2349 §2: the server must use the value or omit it; out of range is omitted.
        if (value === null || value < TIMEOUT_MIN_S || value > TIMEOUT_MAX_S) break;
        result.timeoutS = value;
        result.oack.push([name, String(value)]);
        break;
      case 'tsize':
        // RFC 2349 §4: in a read request the client sends 0 and we answer the size.
        if (value === null) break;
        result.tsizeRequested = true;
        if (fileSize !== null) result.oack.push([name, String(fileSize)]);
        break;
      default:
        // Unknown (e.g. atftp's `multicast`, `utimeout`): omitted.
        break;
    }
  }
  return result;
}

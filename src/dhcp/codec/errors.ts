/**
 * The one error the DHCP codec raises. A malformed packet is a value with a
 * stable code and the byte offset where decoding stopped: the service counts
 * it by `code` (netboot_dhcp_dropped_total{reason}) and drops the packet; a
 * raw RangeError/TypeError escaping the codec is a bug (the truncation sweep
 * test checks every prefix of every fixture).
 */

export type DecodeErrorCode =
  /** Shorter than the fixed BOOTP header + magic cookie (240 bytes). */
  | 'truncated'
  /** Bytes 236-239 are not 99.130.83.99 (RFC 2131 §3): BOOTP or garbage. */
  | 'bad-cookie'
  /** An option's declared length runs past the end of its field. */
  | 'option-length'
  /** Option 52 (overload) malformed, or repeated inside an overloaded field. */
  | 'bad-overload'
  /** Option 53 present but not one byte with a known message type. */
  | 'bad-message-type';

export class DecodeError extends Error {
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
    /** Byte offset in the packet where the problem was found. */
    readonly offset: number,
  ) {
    super(`${message} (offset ${offset})`);
    this.name = 'DecodeError';
  }
}

/** A packet value that cannot be put on the wire (a programming error in a reply builder, not bad input). */
export class EncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncodeError';
  }
}

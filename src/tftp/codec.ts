/**
 * TFTP wire codec (RFC 1350, options RFC 2347): pure functions, no I/O.
 * Decoding never throws anything but a DecodeError with a stable code, so a
 * hostile datagram is dropped and counted, never crashes the server.
 */

export const Opcode = {
  ReadRequest: 1,
  WriteRequest: 2,
  Data: 3,
  Ack: 4,
  Error: 5,
  /** RFC 2347 option acknowledgment. */
  OptionAck: 6,
} as const;
export type OpcodeValue = (typeof Opcode)[keyof typeof Opcode];

/** RFC 1350 §5 error codes, plus 8 from RFC 2347. */
export const ErrorCode = {
  NotDefined: 0,
  FileNotFound: 1,
  AccessViolation: 2,
  DiskFull: 3,
  IllegalOperation: 4,
  UnknownTransferId: 5,
  FileExists: 6,
  NoSuchUser: 7,
  /** RFC 2347: the client (or server) refuses the negotiated options. */
  OptionsRefused: 8,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

const OPCODE_NAMES: Record<number, string> = { 1: 'RRQ', 2: 'WRQ', 3: 'DATA', 4: 'ACK', 5: 'ERROR', 6: 'OACK' };

export function opcodeName(opcode: number): string {
  return OPCODE_NAMES[opcode] ?? `opcode-${opcode}`;
}

/** Option names are case-insensitive (RFC 2347), so they are kept lower-cased, in the order the peer sent them. */
export type TftpOptions = [name: string, value: string][];

export interface RequestPacket {
  opcode: typeof Opcode.ReadRequest | typeof Opcode.WriteRequest;
  /** As sent, bytes taken as latin1 so every byte maps to one char and nothing is lost to UTF-8 repair. */
  filename: string;
  /** Lower-cased: `octet`, `netascii`, or whatever the client sent (`mail` is refused later). */
  mode: string;
  options: TftpOptions;
}

export interface DataPacket {
  opcode: typeof Opcode.Data;
  /** Wire block number (16 bits; wraps to 0 after 65535 for clients that allow rollover). */
  block: number;
  data: Buffer;
}

export interface AckPacket {
  opcode: typeof Opcode.Ack;
  block: number;
}

export interface ErrorPacket {
  opcode: typeof Opcode.Error;
  code: number;
  message: string;
}

export interface OptionAckPacket {
  opcode: typeof Opcode.OptionAck;
  options: TftpOptions;
}

export type TftpPacket = RequestPacket | DataPacket | AckPacket | ErrorPacket | OptionAckPacket;

export type DecodeErrorCode =
  | 'truncated'
  | 'bad-opcode'
  | 'unterminated-string'
  | 'option-without-value'
  | 'empty-filename';

export class DecodeError extends Error {
  constructor(
    readonly code: DecodeErrorCode,
    readonly offset: number,
    message: string,
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

/** Reads NUL-terminated strings; `end` is where the next one starts. */
function readString(buf: Buffer, offset: number, what: string): { value: string; end: number } {
  const nul = buf.indexOf(0, offset);
  if (nul < 0) throw new DecodeError('unterminated-string', offset, `${what} is not NUL-terminated`);
  return { value: buf.toString('latin1', offset, nul), end: nul + 1 };
}

/**
 * Option pairs after the request fields (or in an OACK). A trailing run of
 * empty strings is tolerated: some PXE ROMs pad requests with NULs.
 */
function readOptions(buf: Buffer, offset: number): TftpOptions {
  const options: TftpOptions = [];
  const seen = new Set<string>();
  let at = offset;
  while (at < buf.length) {
    if (buf[at] === 0) {
      // Padding: only NULs may follow.
      for (let i = at; i < buf.length; i++) {
        if (buf[i] !== 0) throw new DecodeError('option-without-value', at, 'empty option name');
      }
      break;
    }
    const name = readString(buf, at, 'option name');
    if (name.end >= buf.length) throw new DecodeError('option-without-value', at, `option ${JSON.stringify(name.value)} has no value`);
    const value = readString(buf, name.end, `value of option ${JSON.stringify(name.value)}`);
    const key = name.value.toLowerCase();
    // RFC 2347 does not allow repeats; the first one wins rather than failing the boot.
    if (!seen.has(key)) {
      seen.add(key);
      options.push([key, value.value]);
    }
    at = value.end;
  }
  return options;
}

/** Decodes one datagram. Throws DecodeError (only) on malformed input. */
export function decodePacket(buf: Buffer): TftpPacket {
  if (buf.length < 2) throw new DecodeError('truncated', 0, 'shorter than an opcode');
  const opcode = buf.readUInt16BE(0);
  switch (opcode) {
    case Opcode.ReadRequest:
    case Opcode.WriteRequest: {
      const filename = readString(buf, 2, 'filename');
      if (filename.value.length === 0) throw new DecodeError('empty-filename', 2, 'empty filename');
      const mode = readString(buf, filename.end, 'mode');
      return { opcode, filename: filename.value, mode: mode.value.toLowerCase(), options: readOptions(buf, mode.end) };
    }
    case Opcode.Data:
      if (buf.length < 4) throw new DecodeError('truncated', buf.length, 'DATA shorter than 4 bytes');
      return { opcode, block: buf.readUInt16BE(2), data: buf.subarray(4) };
    case Opcode.Ack:
      // Some clients pad ACKs; the extra bytes carry nothing.
      if (buf.length < 4) throw new DecodeError('truncated', buf.length, 'ACK shorter than 4 bytes');
      return { opcode, block: buf.readUInt16BE(2) };
    case Opcode.Error: {
      if (buf.length < 4) throw new DecodeError('truncated', buf.length, 'ERROR shorter than 4 bytes');
      const code = buf.readUInt16BE(2);
      // A missing final NUL is common in hand-written clients; the text is only for logs.
      const nul = buf.indexOf(0, 4);
      const message = buf.toString('latin1', 4, nul < 0 ? buf.length : nul);
      return { opcode, code, message };
    }
    case Opcode.OptionAck:
      return { opcode, options: readOptions(buf, 2) };
    default:
      throw new DecodeError('bad-opcode', 0, `unknown opcode ${opcode}`);
  }
}

function stringsLength(strings: readonly string[]): number {
  let length = 0;
  for (const s of strings) length += Buffer.byteLength(s, 'latin1') + 1;
  return length;
}

function writeStrings(buf: Buffer, offset: number, strings: readonly string[]): number {
  let at = offset;
  for (const s of strings) {
    at += buf.write(s, at, 'latin1');
    buf[at++] = 0;
  }
  return at;
}

function optionStrings(options: TftpOptions): string[] {
  return options.flatMap(([name, value]) => [name, value]);
}

/** Exact size of a packet's encoding. */
export function encodingLength(packet: TftpPacket): number {
  switch (packet.opcode) {
    case Opcode.ReadRequest:
    case Opcode.WriteRequest:
      return 2 + stringsLength([packet.filename, packet.mode, ...optionStrings(packet.options)]);
    case Opcode.Data:
      return 4 + packet.data.length;
    case Opcode.Ack:
      return 4;
    case Opcode.Error:
      return 4 + stringsLength([packet.message]);
    case Opcode.OptionAck:
      return 2 + stringsLength(optionStrings(packet.options));
  }
}

/**
 * Encodes into `buf` at `offset` (a new buffer when none is given); returns
 * the buffer and the end offset.
 */
export function encodePacket(packet: TftpPacket, buf?: Buffer, offset = 0): { buf: Buffer; end: number } {
  const length = encodingLength(packet);
  const out = buf ?? Buffer.allocUnsafe(length + offset);
  if (out.length < offset + length) throw new DecodeError('truncated', offset, `buffer too small for ${opcodeName(packet.opcode)}`);
  out.writeUInt16BE(packet.opcode, offset);
  let end: number;
  switch (packet.opcode) {
    case Opcode.ReadRequest:
    case Opcode.WriteRequest:
      end = writeStrings(out, offset + 2, [packet.filename, packet.mode, ...optionStrings(packet.options)]);
      break;
    case Opcode.Data:
      out.writeUInt16BE(packet.block & 0xffff, offset + 2);
      end = offset + 4 + packet.data.copy(out, offset + 4);
      break;
    case Opcode.Ack:
      out.writeUInt16BE(packet.block & 0xffff, offset + 2);
      end = offset + 4;
      break;
    case Opcode.Error:
      out.writeUInt16BE(packet.code, offset + 2);
      end = writeStrings(out, offset + 4, [packet.message]);
      break;
    case Opcode.OptionAck:
      end = writeStrings(out, offset + 2, optionStrings(packet.options));
      break;
  }
  return { buf: out, end };
}

/** A ready-to-send ERROR datagram. */
export function encodeError(code: number, message: string): Buffer {
  return encodePacket({ opcode: Opcode.Error, code, message }).buf;
}

/** A ready-to-send OACK datagram. */
export function encodeOptionAck(options: TftpOptions): Buffer {
  return encodePacket({ opcode: Opcode.OptionAck, options }).buf;
}

/** Writes a DATA header in place (the hot path: the payload is already in `buf` after it). */
export function writeDataHeader(buf: Buffer, offset: number, block: number): void {
  buf[offset] = 0;
  buf[offset + 1] = Opcode.Data;
  buf[offset + 2] = (block >>> 8) & 0xff;
  buf[offset + 3] = block & 0xff;
}

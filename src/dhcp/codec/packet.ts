/**
 * The DHCP/BOOTP packet codec (RFC 2131 §2, RFC 2132, RFC 3396): pure
 * functions, no I/O. `decodePacket` checks every length before reading and
 * throws only DecodeError; `encodePacket` writes exactly
 * `encodingLength(packet)` bytes.
 *
 * Options are kept raw (`Map<code, Buffer>`), in the order they arrived, so
 * that unknown ones (82 above all) go back out byte-exact; typed accessors in
 * options.ts read them.
 */
import {
  BOOTP_MIN_PACKET_BYTES, BROADCAST_FLAG, CHADDR_BYTES, DHCP_MAGIC_COOKIE, DHCP_MIN_DECODE_BYTES,
  FILE_BYTES, OptionCode, SNAME_BYTES, isMessageType,
} from './constants.js';
import { DecodeError, EncodeError } from './errors.js';
import { macFromBytes } from '../../net/mac.js';

export interface DhcpPacket {
  /** 1 = BOOTREQUEST (client to server), 2 = BOOTREPLY. */
  op: number;
  /** Hardware address type, 1 = Ethernet. */
  htype: number;
  /** Hardware address length, 6 for Ethernet. */
  hlen: number;
  /** Relay hop count. */
  hops: number;
  /** Transaction id the client chose; replies carry it back. */
  xid: number;
  /** Seconds since the client began acquiring. */
  secs: number;
  /** Bit 15 = broadcast: the client cannot receive unicast before it has an address. */
  flags: number;
  /** Client's current address (renewing, rebinding, INFORM), else 0. */
  ciaddr: number;
  /** "Your" address: the address the server hands out. */
  yiaddr: number;
  /** Next server: where the boot file is fetched (TFTP). */
  siaddr: number;
  /** Relay agent address; non-zero when a relay forwarded the packet. */
  giaddr: number;
  /** Client hardware address, 16 bytes (the MAC is the first `hlen`). */
  chaddr: Buffer;
  /** Server host name (empty when option 52 reused the field for options). */
  sname: string;
  /** Boot file name (empty when option 52 reused the field for options). */
  file: string;
  /** Raw option payloads by code, in arrival order; RFC 3396 split options already joined. PAD, END and 52 are not kept. */
  options: Map<number, Buffer>;
}

const OFFSET = {
  op: 0, htype: 1, hlen: 2, hops: 3, xid: 4, secs: 8, flags: 10,
  ciaddr: 12, yiaddr: 16, siaddr: 20, giaddr: 24, chaddr: 28, sname: 44, file: 108, cookie: 236, options: 240,
} as const;

/** Option 52 values (RFC 2132 §9.3): which header fields carry options. */
const OVERLOAD_FILE = 1;
const OVERLOAD_SNAME = 2;

/**
 * Decodes one packet. Option values and chaddr are views into `buf` (no
 * copies on the hot path): do not change `buf` while the packet is in use.
 * Checks, in order: the fixed header and cookie are there (240 bytes), every
 * option length fits its field, option 52 names fields that exist, option 53
 * (if present) is one known byte.
 */
export function decodePacket(buf: Uint8Array, offset = 0, end = buf.length): DhcpPacket {
  const bytes = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (end > bytes.length) end = bytes.length;
  if (end - offset < DHCP_MIN_DECODE_BYTES) {
    throw new DecodeError('truncated', `packet is ${Math.max(0, end - offset)} bytes; a DHCP packet has at least ${DHCP_MIN_DECODE_BYTES} (236-byte BOOTP header + magic cookie)`, Math.max(0, end - offset));
  }
  const at = (field: number): number => offset + field;
  const cookie = bytes.readUInt32BE(at(OFFSET.cookie));
  if (cookie !== DHCP_MAGIC_COOKIE) {
    throw new DecodeError('bad-cookie', `magic cookie is 0x${cookie.toString(16).padStart(8, '0')}, not 0x63825363 (a BOOTP packet or not DHCP at all)`, OFFSET.cookie);
  }
  const options = new Map<number, Buffer>();
  const overload = walkOptions(bytes, at(OFFSET.options), end, options, offset, true);
  let sname = readCString(bytes, at(OFFSET.sname), SNAME_BYTES);
  let file = readCString(bytes, at(OFFSET.file), FILE_BYTES);
  // RFC 2131 §4.1: when overloaded, `file` is read before `sname`.
  if (overload !== null) {
    if (overload & OVERLOAD_FILE) {
      walkOptions(bytes, at(OFFSET.file), at(OFFSET.file) + FILE_BYTES, options, offset, false);
      file = '';
    }
    if (overload & OVERLOAD_SNAME) {
      walkOptions(bytes, at(OFFSET.sname), at(OFFSET.sname) + SNAME_BYTES, options, offset, false);
      sname = '';
    }
  }
  const messageType = options.get(OptionCode.MessageType);
  if (messageType !== undefined && (messageType.length !== 1 || !isMessageType(messageType[0]!))) {
    throw new DecodeError('bad-message-type', `option 53 must be one byte 1-8, got ${messageType.length} byte(s) [${[...messageType].join(',')}]`, OFFSET.options);
  }
  return {
    op: bytes[at(OFFSET.op)]!,
    htype: bytes[at(OFFSET.htype)]!,
    hlen: bytes[at(OFFSET.hlen)]!,
    hops: bytes[at(OFFSET.hops)]!,
    xid: bytes.readUInt32BE(at(OFFSET.xid)),
    secs: bytes.readUInt16BE(at(OFFSET.secs)),
    flags: bytes.readUInt16BE(at(OFFSET.flags)),
    ciaddr: bytes.readUInt32BE(at(OFFSET.ciaddr)),
    yiaddr: bytes.readUInt32BE(at(OFFSET.yiaddr)),
    siaddr: bytes.readUInt32BE(at(OFFSET.siaddr)),
    giaddr: bytes.readUInt32BE(at(OFFSET.giaddr)),
    chaddr: bytes.subarray(at(OFFSET.chaddr), at(OFFSET.chaddr) + CHADDR_BYTES),
    sname,
    file,
    options,
  };
}

/**
 * Walks one options field from `start` to `end`, appending payloads to
 * `options` (RFC 3396: a code seen again is concatenated). PAD is a single
 * byte with no length; END stops the walk; a field that ends without END is
 * accepted (several ROMs omit it when the options fill the packet). Returns
 * option 52's value when `allowOverload` and it is present.
 */
function walkOptions(bytes: Buffer, start: number, end: number, options: Map<number, Buffer>, base: number, allowOverload: boolean): number | null {
  let overload: number | null = null;
  let position = start;
  while (position < end) {
    const code = bytes[position]!;
    if (code === OptionCode.Pad) {
      position += 1;
      continue;
    }
    if (code === OptionCode.End) break;
    if (position + 1 >= end) {
      throw new DecodeError('option-length', `option ${code} has no length byte`, position - base);
    }
    const length = bytes[position + 1]!;
    const dataStart = position + 2;
    if (dataStart + length > end) {
      throw new DecodeError('option-length', `option ${code} claims ${length} bytes but only ${end - dataStart} remain in its field`, position - base);
    }
    const data = bytes.subarray(dataStart, dataStart + length);
    if (code === OptionCode.Overload) {
      if (!allowOverload || length !== 1 || data[0]! < 1 || data[0]! > 3) {
        throw new DecodeError('bad-overload', allowOverload ? `option 52 must be one byte 1-3, got ${length} byte(s)` : 'option 52 inside an overloaded field', position - base);
      }
      overload = data[0]!;
    } else {
      // A view, not a copy: the packet owns its bytes (callers hand in a buffer they no longer change).
      const previous = options.get(code);
      options.set(code, previous === undefined ? data : Buffer.concat([previous, data]));
    }
    position = dataStart + length;
  }
  return overload;
}

function readCString(bytes: Buffer, start: number, length: number): string {
  const field = bytes.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.toString('latin1', 0, nul === -1 ? length : nul);
}

/** Bytes an option takes on the wire, split into 255-byte pieces as RFC 3396 §6 says. */
function optionWireBytes(length: number): number {
  const pieces = Math.max(1, Math.ceil(length / 255));
  return pieces * 2 + length;
}

/** Exact size `encodePacket` writes: header, cookie, options, END, zero-padded to the 300-byte BOOTP minimum. */
export function encodingLength(packet: DhcpPacket): number {
  let length = DHCP_MIN_DECODE_BYTES + 1;
  for (const data of packet.options.values()) length += optionWireBytes(data.length);
  return Math.max(length, BOOTP_MIN_PACKET_BYTES);
}

/** Writes the packet into `buf` at `offset` (allocating when no buffer is given) and returns the buffer. */
export function encodePacket(packet: DhcpPacket, buf?: Buffer, offset = 0): Buffer {
  const length = encodingLength(packet);
  // allocUnsafe: a slice of Node's shared pool, not a fresh zeroed allocation per reply; zeroed just below.
  const out = buf ?? Buffer.allocUnsafe(length + offset);
  if (out.length - offset < length) throw new EncodeError(`buffer has ${out.length - offset} bytes from offset ${offset}; packet needs ${length}`);
  if (packet.chaddr.length > CHADDR_BYTES) throw new EncodeError(`chaddr is ${packet.chaddr.length} bytes; the field holds ${CHADDR_BYTES}`);
  // latin1 is one byte per UTF-16 unit, so the string's length is its size on the wire.
  if (packet.sname.length > SNAME_BYTES) throw new EncodeError(`sname is ${packet.sname.length} bytes; the field holds ${SNAME_BYTES}`);
  if (packet.file.length > FILE_BYTES) throw new EncodeError(`file is ${packet.file.length} bytes; the field holds ${FILE_BYTES}`);
  out.fill(0, offset, offset + length);
  out[offset + OFFSET.op] = packet.op;
  out[offset + OFFSET.htype] = packet.htype;
  out[offset + OFFSET.hlen] = packet.hlen;
  out[offset + OFFSET.hops] = packet.hops;
  out.writeUInt32BE(packet.xid >>> 0, offset + OFFSET.xid);
  out.writeUInt16BE(packet.secs & 0xffff, offset + OFFSET.secs);
  out.writeUInt16BE(packet.flags & 0xffff, offset + OFFSET.flags);
  out.writeUInt32BE(packet.ciaddr >>> 0, offset + OFFSET.ciaddr);
  out.writeUInt32BE(packet.yiaddr >>> 0, offset + OFFSET.yiaddr);
  out.writeUInt32BE(packet.siaddr >>> 0, offset + OFFSET.siaddr);
  out.writeUInt32BE(packet.giaddr >>> 0, offset + OFFSET.giaddr);
  packet.chaddr.copy(out, offset + OFFSET.chaddr);
  if (packet.sname.length > 0) out.write(packet.sname, offset + OFFSET.sname, 'latin1');
  if (packet.file.length > 0) out.write(packet.file, offset + OFFSET.file, 'latin1');
  out.writeUInt32BE(DHCP_MAGIC_COOKIE, offset + OFFSET.cookie);
  let position = offset + OFFSET.options;
  for (const [code, data] of packet.options) {
    if (!Number.isInteger(code) || code <= OptionCode.Pad || code >= OptionCode.End || code === OptionCode.Overload) {
      throw new EncodeError(`option code ${code} cannot be encoded as an option`);
    }
    // RFC 3396 §6: a value longer than 255 bytes goes out as consecutive options with the same code.
    let written = 0;
    do {
      const piece = Math.min(255, data.length - written);
      out[position] = code;
      out[position + 1] = piece;
      data.copy(out, position + 2, written, written + piece);
      position += 2 + piece;
      written += piece;
    } while (written < data.length);
  }
  out[position] = OptionCode.End;
  return out;
}

/** The option 53 value, or null for a plain BOOTP packet. */
export function messageTypeOf(packet: DhcpPacket): number | null {
  return packet.options.get(OptionCode.MessageType)?.[0] ?? null;
}

export function wantsBroadcast(packet: DhcpPacket): boolean {
  return (packet.flags & BROADCAST_FLAG) !== 0;
}

/** The client's MAC as `aa:bb:cc:dd:ee:ff`, or null when the hardware address is not Ethernet's 6 bytes. */
export function clientMac(packet: DhcpPacket): string | null {
  if (packet.hlen !== 6 || packet.chaddr.length < 6) return null;
  return macFromBytes(packet.chaddr);
}

/** A packet with every field zero and no options, to build on. */
export function emptyPacket(): DhcpPacket {
  return {
    op: 0, htype: 1, hlen: 6, hops: 0, xid: 0, secs: 0, flags: 0,
    ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0,
    chaddr: Buffer.alloc(CHADDR_BYTES), sname: '', file: '', options: new Map(),
  };
}


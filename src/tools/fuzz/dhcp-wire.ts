/**
 * A deliberately small, independent DHCP encoder/decoder for the fuzzer and
 * the test client pool. It does not import src/dhcp: a tool that checks the
 * server must not share the server's codec (a bug there would hide itself).
 * Only what a client sends and needs to read back is here (RFC 2131 §2,
 * RFC 2132 options as raw bytes).
 */

export const DHCP_MAGIC_COOKIE = 0x63825363;
/** RFC 2131 §2: op, htype … file is 236 bytes; the cookie makes 240. */
export const BOOTP_FIXED_LENGTH = 236;

export const MessageType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8,
} as const;

export const Option = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  HostName: 12,
  RequestedAddress: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerId: 54,
  ParameterList: 55,
  MaxMessageSize: 57,
  VendorClass: 60,
  ClientId: 61,
  UserClass: 77,
  RelayAgent: 82,
  ClientArch: 93,
  ClientNdi: 94,
  ClientGuid: 97,
  IpxeEncap: 175,
  End: 255,
} as const;

export interface DhcpMessage {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  /** Client's current address (renew/rebind), dotted quad. */
  ciaddr: string;
  /** "Your" address: the one the server gives. */
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** Hardware address bytes (first hlen count). */
  chaddr: Buffer;
  sname: string;
  file: string;
  /** Options in the order they appear; a code may repeat (RFC 3396 long options). */
  options: [number, Buffer][];
}

export function ipToBuffer(ip: string): Buffer {
  const parts = ip.split('.').map(Number);
  return Buffer.from(parts.length === 4 ? parts : [0, 0, 0, 0]);
}

export function bufferToIp(bytes: Buffer, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

export function macToBuffer(mac: string): Buffer {
  return Buffer.from(mac.split(/[:-]/).map((part) => parseInt(part, 16)));
}

export function bufferToMac(bytes: Buffer): string {
  return [...bytes.subarray(0, 6)].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

export interface RequestFields {
  type: number;
  mac: string;
  xid: number;
  ciaddr?: string;
  giaddr?: string;
  broadcast?: boolean;
  options?: [number, Buffer][];
  secs?: number;
}

/** A client message as real clients build it: op 1, Ethernet, 6-byte chaddr, option 53 first, END, padded to the 300-byte BOOTP minimum. */
export function buildClientMessage(fields: RequestFields): Buffer {
  return encodeDhcpMessage({
    op: 1,
    htype: 1,
    hlen: 6,
    hops: fields.giaddr && fields.giaddr !== '0.0.0.0' ? 1 : 0,
    xid: fields.xid >>> 0,
    secs: fields.secs ?? 0,
    flags: fields.broadcast ? 0x8000 : 0,
    ciaddr: fields.ciaddr ?? '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: fields.giaddr ?? '0.0.0.0',
    chaddr: macToBuffer(fields.mac),
    sname: '',
    file: '',
    options: [[Option.MessageType, Buffer.from([fields.type])], ...(fields.options ?? [])],
  });
}

export function encodeDhcpMessage(message: DhcpMessage, minimumLength = 300): Buffer {
  const optionBytes: Buffer[] = [];
  for (const [code, value] of message.options) {
    if (code === Option.Pad || code === Option.End) {
      optionBytes.push(Buffer.from([code]));
      continue;
    }
    // RFC 3396: a value longer than 255 bytes is split into several options with the same code.
    for (let at = 0; at < value.length || at === 0; at += 255) {
      const part = value.subarray(at, at + 255);
      optionBytes.push(Buffer.from([code, part.length]), part);
      if (value.length === 0) break;
    }
  }
  optionBytes.push(Buffer.from([Option.End]));
  const options = Buffer.concat(optionBytes);
  const length = Math.max(minimumLength, BOOTP_FIXED_LENGTH + 4 + options.length);
  const packet = Buffer.alloc(length);
  packet[0] = message.op;
  packet[1] = message.htype;
  packet[2] = message.hlen;
  packet[3] = message.hops;
  packet.writeUInt32BE(message.xid >>> 0, 4);
  packet.writeUInt16BE(message.secs & 0xffff, 8);
  packet.writeUInt16BE(message.flags & 0xffff, 10);
  ipToBuffer(message.ciaddr).copy(packet, 12);
  ipToBuffer(message.yiaddr).copy(packet, 16);
  ipToBuffer(message.siaddr).copy(packet, 20);
  ipToBuffer(message.giaddr).copy(packet, 24);
  message.chaddr.copy(packet, 28, 0, Math.min(16, message.chaddr.length));
  packet.write(message.sname.slice(0, 63), 44, 'latin1');
  packet.write(message.file.slice(0, 127), 108, 'latin1');
  packet.writeUInt32BE(DHCP_MAGIC_COOKIE, BOOTP_FIXED_LENGTH);
  options.copy(packet, BOOTP_FIXED_LENGTH + 4);
  return packet;
}

/** Decodes a message; null when it is not a well-formed DHCP message (the pool ignores such replies, and counts them). */
export function decodeDhcpMessage(packet: Buffer): DhcpMessage | null {
  if (packet.length < BOOTP_FIXED_LENGTH + 4) return null;
  if (packet.readUInt32BE(BOOTP_FIXED_LENGTH) !== DHCP_MAGIC_COOKIE) return null;
  const options: [number, Buffer][] = [];
  let at = BOOTP_FIXED_LENGTH + 4;
  while (at < packet.length) {
    const code = packet[at]!;
    if (code === Option.Pad) { at += 1; continue; }
    if (code === Option.End) break;
    if (at + 1 >= packet.length) return null;
    const length = packet[at + 1]!;
    if (at + 2 + length > packet.length) return null;
    options.push([code, Buffer.from(packet.subarray(at + 2, at + 2 + length))]);
    at += 2 + length;
  }
  const cString = (from: number, size: number): string => {
    const field = packet.subarray(from, from + size);
    const end = field.indexOf(0);
    return field.subarray(0, end === -1 ? size : end).toString('latin1');
  };
  return {
    op: packet[0]!,
    htype: packet[1]!,
    hlen: packet[2]!,
    hops: packet[3]!,
    xid: packet.readUInt32BE(4),
    secs: packet.readUInt16BE(8),
    flags: packet.readUInt16BE(10),
    ciaddr: bufferToIp(packet, 12),
    yiaddr: bufferToIp(packet, 16),
    siaddr: bufferToIp(packet, 20),
    giaddr: bufferToIp(packet, 24),
    chaddr: Buffer.from(packet.subarray(28, 28 + Math.min(16, packet[2]!))),
    sname: cString(44, 64),
    file: cString(108, 128),
    options,
  };
}

/** The value of an option (long options concatenated, RFC 3396), or null. */
export function optionValue(message: DhcpMessage, code: number): Buffer | null {
  const parts = message.options.filter(([each]) => each === code).map(([, value]) => value);
  return parts.length === 0 ? null : Buffer.concat(parts);
}

export function messageTypeOf(message: DhcpMessage): number | null {
  const value = optionValue(message, Option.MessageType);
  return value && value.length === 1 ? value[0]! : null;
}

/**
 * Hostile DHCP input, as pure functions of a seeded Rng: random bytes,
 * truncated and bit-flipped real-looking client messages, and messages that
 * are well-formed on the wire but mean nonsense (options with wrong sizes,
 * option overload pointing at garbage, BOOTREPLYs sent to the server, unknown
 * message types). Every one must be dropped and counted, never thrown.
 */
import { BOOTP_FIXED_LENGTH, DHCP_MAGIC_COOKIE, MessageType, Option, buildClientMessage, encodeDhcpMessage } from './dhcp-wire.js';
import type { Rng } from './rng.js';

export type DhcpFuzzKind = 'random' | 'truncated' | 'mutated' | 'bad-options' | 'semantic';

export interface FuzzPacket<K extends string> {
  kind: K;
  bytes: Buffer;
}

/** Fuzz clients use locally administered MACs 02:fz:… (0x02, 0xf2) so their leases are recognisable in a lease list. */
export function fuzzMac(rng: Rng): string {
  const tail = rng.bytes(4);
  return ['02', 'f2', ...[...tail].map((byte) => byte.toString(16).padStart(2, '0'))].join(':');
}

/** Options a PXE ROM or OS client really sends, with plausible values. */
function plausibleOptions(rng: Rng): [number, Buffer][] {
  const options: [number, Buffer][] = [];
  if (rng.chance(0.7)) options.push([Option.ParameterList, Buffer.from([1, 3, 6, 12, 15, 28, 43, 60, 66, 67, 119, 128, 129, 130, 131, 175])]);
  if (rng.chance(0.5)) options.push([Option.MaxMessageSize, Buffer.from([0x05, 0xc0])]);
  if (rng.chance(0.5)) options.push([Option.ClientArch, Buffer.from([0, rng.pick([0, 6, 7, 9, 11, 16, 200])])]);
  if (rng.chance(0.4)) options.push([Option.VendorClass, Buffer.from(`PXEClient:Arch:0000${rng.below(10)}:UNDI:002001`)]);
  if (rng.chance(0.3)) options.push([Option.UserClass, Buffer.from('iPXE')]);
  if (rng.chance(0.3)) options.push([Option.ClientGuid, Buffer.concat([Buffer.from([0]), rng.bytes(16)])]);
  if (rng.chance(0.3)) options.push([Option.ClientNdi, Buffer.from([1, 2, 1])]);
  if (rng.chance(0.3)) options.push([Option.ClientId, Buffer.concat([Buffer.from([1]), rng.bytes(6)])]);
  if (rng.chance(0.2)) options.push([Option.HostName, Buffer.from(`fuzz-${rng.below(1000)}`)]);
  if (rng.chance(0.2)) options.push([Option.RelayAgent, Buffer.concat([Buffer.from([1, 4]), rng.bytes(4), Buffer.from([2, 6]), rng.bytes(6)])]);
  if (rng.chance(0.2)) options.push([Option.IpxeEncap, Buffer.from([0xb1, 1, 1, 0x13, 1, 1])]);
  return options;
}

/** A plausible client message of any type: the seed for truncation and mutation. */
export function plausibleClientMessage(rng: Rng): Buffer {
  const type = rng.pick([MessageType.Discover, MessageType.Discover, MessageType.Request, MessageType.Request, MessageType.Inform, MessageType.Release, MessageType.Decline]);
  const options = plausibleOptions(rng);
  const address = `10.78.${rng.below(256)}.${rng.below(256)}`;
  if (type === MessageType.Request && rng.chance(0.7)) options.push([Option.RequestedAddress, Buffer.from(address.split('.').map(Number))]);
  if (type === MessageType.Request && rng.chance(0.5)) options.push([Option.ServerId, Buffer.from([127, 0, 0, 1])]);
  if (type === MessageType.Decline) options.push([Option.RequestedAddress, Buffer.from(address.split('.').map(Number))]);
  return buildClientMessage({
    type,
    mac: fuzzMac(rng),
    xid: rng.u32(),
    ciaddr: type === MessageType.Release || type === MessageType.Inform || rng.chance(0.1) ? address : '0.0.0.0',
    giaddr: rng.chance(0.1) ? address : '0.0.0.0',
    broadcast: rng.chance(0.5),
    secs: rng.below(10),
    options,
  });
}

/** Random bytes of a random length, sometimes with a valid cookie so the option walk is reached. */
export function randomDhcpBytes(rng: Rng): Buffer {
  const length = rng.pick([0, 1, 4, 64, 235, 236, 239, 240, 241, 300, 576, rng.below(1500)]);
  const bytes = rng.bytes(length);
  if (length >= BOOTP_FIXED_LENGTH + 4 && rng.chance(0.5)) {
    bytes.writeUInt32BE(DHCP_MAGIC_COOKIE, BOOTP_FIXED_LENGTH);
    bytes[0] = 1;
  }
  return bytes;
}

/** A real-looking message cut at a random point (as a lossy link or a buggy ROM can leave it). */
export function truncatedDhcpMessage(rng: Rng): Buffer {
  return cutShort(plausibleClientMessage(rng), rng);
}

/** A strict prefix of `message`, the cut preferably inside the options area, where length bytes are walked. */
export function cutShort(message: Buffer, rng: Rng): Buffer {
  const end = endOfOptions(message);
  const cut = rng.chance(0.7) && end > BOOTP_FIXED_LENGTH ? rng.between(BOOTP_FIXED_LENGTH, end - 1) : rng.below(message.length);
  return Buffer.from(message.subarray(0, cut));
}

/** A real-looking message with bits flipped, bytes overwritten, or a run of bytes inserted/deleted. */
export function mutatedDhcpMessage(rng: Rng): Buffer {
  let message = plausibleClientMessage(rng);
  const edits = rng.between(1, 8);
  for (let i = 0; i < edits; i++) {
    const at = rng.below(message.length);
    switch (rng.below(5)) {
      case 0: message[at] = message[at]! ^ (1 << rng.below(8)); break;
      case 1: message[at] = rng.pick([0, 1, 0x7f, 0x80, 0xfe, 0xff]); break;
      case 2: message = Buffer.concat([message.subarray(0, at), rng.bytes(rng.between(1, 16)), message.subarray(at)]); break;
      case 3: message = Buffer.concat([message.subarray(0, at), message.subarray(Math.min(message.length, at + rng.between(1, 16)))]); break;
      default: {
        // Hit an option length byte specifically: the classic parser desync.
        const options = BOOTP_FIXED_LENGTH + 4;
        if (message.length > options + 2) message[options + 1 + 2 * rng.below(4)] = rng.pick([0, 1, 0xff, 0x7f]);
      }
    }
  }
  return message;
}

/** Well-framed options whose contents are wrong: sizes, overload, long options, repeats, no END, no 53. */
export function badOptionsDhcpMessage(rng: Rng): Buffer {
  const options: [number, Buffer][] = [];
  const variant = rng.below(12);
  switch (variant) {
    case 0: options.push([Option.MessageType, Buffer.from([])]); break; // zero-length 53
    case 1: options.push([Option.MessageType, Buffer.from([1, 3])]); break; // two-byte 53
    case 2: options.push([Option.MessageType, Buffer.from([rng.pick([0, 9, 13, 18, 200, 255])])]); break; // unknown types
    case 3: options.push([Option.MessageType, Buffer.from([1])], [Option.RequestedAddress, rng.bytes(rng.pick([0, 1, 3, 5, 16]))]); break;
    case 4: options.push([Option.MessageType, Buffer.from([1])], [Option.Overload, Buffer.from([rng.pick([0, 1, 2, 3, 4, 255])])]); break;
    case 5: options.push([Option.MessageType, Buffer.from([1])], [Option.ClientArch, rng.bytes(rng.pick([0, 1, 3, 255]))]); break;
    case 6: options.push([Option.MessageType, Buffer.from([1])], [Option.ParameterList, rng.bytes(rng.pick([0, 255, 600]))]); break; // 600: RFC 3396 split
    case 7: options.push([Option.MessageType, Buffer.from([1])], [Option.RelayAgent, rng.bytes(rng.between(0, 300))]); break;
    case 8: options.push([Option.MessageType, Buffer.from([3])], [Option.ServerId, rng.bytes(rng.pick([0, 2, 8]))]); break;
    case 9: for (let i = 0; i < 60; i++) options.push([Option.MessageType, Buffer.from([rng.between(1, 8)])]); break; // repeated 53
    case 10: options.push([Option.MessageType, Buffer.from([1])], [Option.MaxMessageSize, Buffer.from([0, rng.pick([0, 1, 100])])]); break; // option 57 below 576
    default: options.push([Option.MessageType, Buffer.from([1])], [Option.IpxeEncap, rng.bytes(rng.between(0, 40))], [Option.ClientGuid, rng.bytes(rng.pick([0, 1, 16, 17]))]);
  }
  const packet = encodeDhcpMessage({
    op: 1, htype: 1, hlen: 6, hops: 0, xid: rng.u32(), secs: 0, flags: 0,
    ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0',
    chaddr: Buffer.from(fuzzMac(rng).split(':').map((part) => parseInt(part, 16))),
    sname: '', file: '', options,
  }, rng.chance(0.5) ? 300 : 0);
  if (variant === 4) {
    // Overloaded sname/file full of garbage option bytes (RFC 2131 §4.1 option 52).
    rng.bytes(64).copy(packet, 44);
    rng.bytes(128).copy(packet, 108);
  }
  if (rng.chance(0.3)) {
    // Drop END: the walk must stop at the end of the buffer.
    const end = packet.lastIndexOf(Option.End);
    return Buffer.from(packet.subarray(0, end));
  }
  return packet;
}

/** Well-formed messages that no client should send: BOOTREPLY, wrong htype/hlen, huge hops, giaddr loops, an ACK or OFFER "from a client". */
export function semanticDhcpMessage(rng: Rng): Buffer {
  const packet = plausibleClientMessage(rng);
  switch (rng.below(6)) {
    case 0: packet[0] = 2; break; // BOOTREPLY to the server port
    case 1: packet[1] = rng.pick([0, 6, 32, 255]); break; // htype
    case 2: packet[2] = rng.pick([0, 1, 16, 17, 255]); break; // hlen past chaddr's 16 bytes
    case 3: packet[3] = rng.pick([16, 17, 255]); break; // hops past the relay limit
    case 4: {
      const optionsAt = BOOTP_FIXED_LENGTH + 4;
      if (packet[optionsAt] === Option.MessageType) packet[optionsAt + 2] = rng.pick([MessageType.Offer, MessageType.Ack, MessageType.Nak]);
      break;
    }
    default: packet.fill(0, 28, 44); // all-zero chaddr
  }
  return packet;
}

function endOfOptions(message: Buffer): number {
  const end = message.indexOf(Option.End, BOOTP_FIXED_LENGTH + 4);
  return end === -1 ? message.length : end + 1;
}

export const DHCP_GENERATORS: Record<DhcpFuzzKind, (rng: Rng) => Buffer> = {
  random: randomDhcpBytes,
  truncated: truncatedDhcpMessage,
  mutated: mutatedDhcpMessage,
  'bad-options': badOptionsDhcpMessage,
  semantic: semanticDhcpMessage,
};

const DHCP_KINDS = Object.keys(DHCP_GENERATORS) as DhcpFuzzKind[];

export function nextDhcpFuzzPacket(rng: Rng): FuzzPacket<DhcpFuzzKind> {
  const kind = rng.pick(DHCP_KINDS);
  return { kind, bytes: DHCP_GENERATORS[kind](rng) };
}

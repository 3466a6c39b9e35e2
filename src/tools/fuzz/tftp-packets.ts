/**
 * Hostile TFTP input (RFC 1350 framing, RFC 2347-2349/7440 options), as pure
 * functions of a seeded Rng. `listener` packets go to port 69; `transfer`
 * packets go to a live transfer's port (its TID), either from a stranger's
 * port (must get ERROR 5 and leave the transfer alone, RFC 1350 §4) or from
 * the transfer's own client (nonsense ACKs, which may end that transfer with
 * an ERROR but nothing else).
 */
import type { Rng } from './rng.js';
import type { FuzzPacket } from './dhcp-packets.js';

export const TftpOpcode = { Rrq: 1, Wrq: 2, Data: 3, Ack: 4, Error: 5, Oack: 6 } as const;

export type TftpListenerFuzzKind = 'random' | 'truncated-rrq' | 'hostile-name' | 'bad-options' | 'wrong-opcode' | 'wrq';
export type TftpTransferFuzzKind = 'random' | 'stray-ack' | 'stray-error' | 'short' | 'data';

/** Names a scanner or a broken loader asks for: traversal in every spelling, absolute paths, NULs, huge names. */
export const HOSTILE_TFTP_NAMES: readonly string[] = [
  '../etc/passwd', '/etc/passwd', '..\\..\\etc\\passwd', 'a/../../etc/passwd', '../../../../../../../../etc/shadow',
  './../secret', '....//....//etc/passwd', 'pxelinux.cfg/../../etc/passwd', '%2e%2e/etc/passwd', '\\..\\..\\x',
  'dir/\u0000/x', '', ' ', '.', '..', '//', 'x'.repeat(600), 'pxelinux.cfg/01-zz-zz', 'pxelinux.cfg/../../../../proc/self/environ',
  'outside-link/secret', 'C:\\Windows\\system32', '\u00ff\u00fe', 'con', 'pxelinux.cfg/01-' + 'ab-'.repeat(100),
];

export function rrq(name: string, mode: string, options: [string, string][] = [], opcode: number = TftpOpcode.Rrq): Buffer {
  const parts: Buffer[] = [Buffer.from([0, opcode]), Buffer.from(name, 'latin1'), Buffer.from([0]), Buffer.from(mode, 'latin1'), Buffer.from([0])];
  for (const [key, value] of options) parts.push(Buffer.from(key, 'latin1'), Buffer.from([0]), Buffer.from(value, 'latin1'), Buffer.from([0]));
  return Buffer.concat(parts);
}

export function ack(block: number): Buffer {
  const packet = Buffer.alloc(4);
  packet.writeUInt16BE(TftpOpcode.Ack, 0);
  packet.writeUInt16BE(block & 0xffff, 2);
  return packet;
}

export function errorPacket(code: number, message: string): Buffer {
  return Buffer.concat([Buffer.from([0, TftpOpcode.Error, (code >> 8) & 255, code & 255]), Buffer.from(message, 'latin1'), Buffer.from([0])]);
}

function randomOptionValue(rng: Rng): string {
  return rng.pick(['0', '1', '7', '8', '511', '512', '1468', '65464', '65465', '99999999999999999999', '-1', 'abc', '', ' 512', '1e3', '0x200', String(rng.u32())]);
}

function randomOptions(rng: Rng): [string, string][] {
  const keys = ['blksize', 'BLKSIZE', 'tsize', 'timeout', 'windowsize', 'multicast', 'rollover', 'utimeout', 'x'.repeat(rng.between(1, 300)), ''];
  const count = rng.pick([1, 2, 4, 8, 40]);
  const options: [string, string][] = [];
  for (let i = 0; i < count; i++) options.push([rng.pick(keys), randomOptionValue(rng)]);
  return options;
}

export function nextTftpListenerPacket(rng: Rng, realNames: readonly string[]): FuzzPacket<TftpListenerFuzzKind> {
  const kind = rng.pick<TftpListenerFuzzKind>(['random', 'truncated-rrq', 'hostile-name', 'bad-options', 'wrong-opcode', 'wrq']);
  const name = (): string => (realNames.length > 0 && rng.chance(0.5) ? rng.pick(realNames) : `missing-${rng.below(100)}`);
  switch (kind) {
    case 'random': {
      const bytes = rng.bytes(rng.pick([0, 1, 2, 3, 4, 20, 516, rng.below(1500)]));
      if (bytes.length >= 2 && rng.chance(0.6)) bytes.writeUInt16BE(rng.between(0, 7), 0);
      return { kind, bytes };
    }
    case 'truncated-rrq': {
      const full = rrq(name(), rng.pick(['octet', 'netascii']), rng.chance(0.5) ? [['blksize', '1468'], ['tsize', '0']] : []);
      return { kind, bytes: Buffer.from(full.subarray(0, rng.below(full.length))) };
    }
    case 'hostile-name':
      return { kind, bytes: rrq(rng.pick(HOSTILE_TFTP_NAMES), rng.pick(['octet', 'netascii', 'mail', 'OCTET', '', 'x'.repeat(300)])) };
    case 'bad-options': {
      // Bad option values for a file that exists: negotiation must clamp or ignore, never ERROR 8 for an unknown option.
      // Short of a live transfer, the client then abandons it; the server times it out.
      return { kind, bytes: rrq(name(), 'octet', randomOptions(rng)) };
    }
    case 'wrong-opcode': {
      const opcode = rng.pick([0, 3, 4, 5, 6, 7, 255, 65535]);
      const bytes = Buffer.concat([Buffer.from([(opcode >> 8) & 255, opcode & 255]), rng.bytes(rng.pick([0, 2, 10, 512]))]);
      return { kind, bytes };
    }
    default:
      return { kind, bytes: rrq(rng.pick(['upload.bin', '../x', name()]), 'octet', [], TftpOpcode.Wrq) };
  }
}

export function nextTftpTransferPacket(rng: Rng): FuzzPacket<TftpTransferFuzzKind> {
  const kind = rng.pick<TftpTransferFuzzKind>(['random', 'stray-ack', 'stray-error', 'short', 'data']);
  switch (kind) {
    case 'random': return { kind, bytes: rng.bytes(rng.below(600)) };
    case 'stray-ack': return { kind, bytes: ack(rng.pick([0, 1, 2, 65535, rng.below(65536)])) };
    case 'stray-error': return { kind, bytes: errorPacket(rng.between(0, 9), rng.chance(0.5) ? 'x'.repeat(rng.below(600)) : '') };
    case 'short': return { kind, bytes: rng.bytes(rng.between(0, 3)) };
    default: return { kind, bytes: Buffer.concat([Buffer.from([0, TftpOpcode.Data]), rng.bytes(rng.between(2, 520))]) };
  }
}

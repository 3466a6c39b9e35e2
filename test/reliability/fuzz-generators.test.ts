/**
 * The fuzzer's packet generators are pure functions of a seed: check that they
 * are replayable, cover every kind, stay within what a datagram can carry, and
 * really are hostile in the ways they claim (truncated is shorter, mutated
 * differs, traversal names are present). Plus the tool's own small DHCP codec,
 * which the client pool relies on to read the server's replies.
 */
import { describe, expect, it } from 'vitest';
import { DHCP_GENERATORS, cutShort, nextDhcpFuzzPacket, plausibleClientMessage, truncatedDhcpMessage, type DhcpFuzzKind } from '../../src/tools/fuzz/dhcp-packets.js';
import { MessageType, Option, buildClientMessage, decodeDhcpMessage, encodeDhcpMessage, messageTypeOf, optionValue } from '../../src/tools/fuzz/dhcp-wire.js';
import { httpAttacks, nextHttpFuzzRequest, traversalPaths } from '../../src/tools/fuzz/http-attacks.js';
import { Rng } from '../../src/tools/fuzz/rng.js';
import { HOSTILE_TFTP_NAMES, nextTftpListenerPacket, nextTftpTransferPacket, rrq } from '../../src/tools/fuzz/tftp-packets.js';

const targets = { host: '127.0.0.1:8080', tree: 'debian', treeFile: 'big.bin', tftpFile: 'pxelinux.0', hostName: 'node01' };

describe('seeded rng', () => {
  it('replays the same sequence for the same seed and differs for another', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const seqA = Array.from({ length: 50 }, () => a.u32());
    expect(Array.from({ length: 50 }, () => b.u32())).toEqual(seqA);
    expect(Array.from({ length: 50 }, () => c.u32())).not.toEqual(seqA);
  });

  it('keeps below() and between() within bounds and reaches both ends', () => {
    const rng = new Rng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const value = rng.between(3, 6);
      expect(value).toBeGreaterThanOrEqual(3);
      expect(value).toBeLessThanOrEqual(6);
      seen.add(value);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
  });
});

describe('tool DHCP codec', () => {
  it('round-trips a client message with a long option split per RFC 3396', () => {
    const longList = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 255));
    const packet = buildClientMessage({ type: MessageType.Request, mac: '02:78:00:00:00:01', xid: 0xdeadbeef, ciaddr: '10.78.1.100', options: [[Option.ParameterList, longList]] });
    expect(packet.length).toBeGreaterThanOrEqual(300);
    const decoded = decodeDhcpMessage(packet)!;
    expect(decoded.xid).toBe(0xdeadbeef);
    expect(decoded.ciaddr).toBe('10.78.1.100');
    expect(messageTypeOf(decoded)).toBe(MessageType.Request);
    expect(decoded.options.filter(([code]) => code === Option.ParameterList)).toHaveLength(2);
    expect(optionValue(decoded, Option.ParameterList)).toEqual(longList);
    expect(encodeDhcpMessage(decoded)).toEqual(packet);
  });

  it('returns null, never throws, for every prefix of a message and for random bytes', () => {
    const rng = new Rng(1);
    const message = plausibleClientMessage(rng);
    for (let cut = 0; cut <= message.length; cut++) expect(() => decodeDhcpMessage(message.subarray(0, cut))).not.toThrow();
    for (let i = 0; i < 500; i++) expect(() => decodeDhcpMessage(rng.bytes(rng.below(700)))).not.toThrow();
    expect(decodeDhcpMessage(message.subarray(0, 239))).toBeNull();
  });
});

describe('DHCP fuzz packets', () => {
  it('are replayable from the seed', () => {
    const first = Array.from({ length: 200 }, (_, i) => nextDhcpFuzzPacket(new Rng(i)).bytes.toString('hex'));
    const again = Array.from({ length: 200 }, (_, i) => nextDhcpFuzzPacket(new Rng(i)).bytes.toString('hex'));
    expect(again).toEqual(first);
  });

  it('cover every kind, fit in one datagram, and are mostly not valid DHCP', () => {
    const rng = new Rng(99);
    const kinds = new Map<DhcpFuzzKind, number>();
    let decodable = 0;
    for (let i = 0; i < 5000; i++) {
      const packet = nextDhcpFuzzPacket(rng);
      kinds.set(packet.kind, (kinds.get(packet.kind) ?? 0) + 1);
      expect(packet.bytes.length).toBeLessThanOrEqual(1500);
      if (decodeDhcpMessage(packet.bytes) && messageTypeOf(decodeDhcpMessage(packet.bytes)!) !== null) decodable++;
    }
    expect([...kinds.keys()].sort()).toEqual(Object.keys(DHCP_GENERATORS).sort());
    for (const count of kinds.values()) expect(count).toBeGreaterThan(700);
    expect(decodable).toBeLessThan(4000);
  });

  it('truncated messages are strictly shorter than a whole message', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 300; i++) {
      const whole = plausibleClientMessage(rng);
      const cut = cutShort(whole, rng);
      expect(cut.length).toBeLessThan(whole.length);
      expect(whole.subarray(0, cut.length)).toEqual(cut);
    }
    expect(truncatedDhcpMessage(rng).length).toBeLessThan(1500);
  });

  it('use only locally administered fuzz MACs (02:f2:…) in plausible messages', () => {
    const rng = new Rng(11);
    for (let i = 0; i < 200; i++) {
      const decoded = decodeDhcpMessage(plausibleClientMessage(rng))!;
      expect(decoded.chaddr.subarray(0, 2)).toEqual(Buffer.from([0x02, 0xf2]));
    }
  });
});

describe('TFTP fuzz packets', () => {
  it('encode an RRQ per RFC 1350 with RFC 2347 options', () => {
    expect(rrq('a', 'octet', [['blksize', '1468']])).toEqual(Buffer.from('\x00\x01a\x00octet\x00blksize\x001468\x00', 'latin1'));
  });

  it('send every hostile name and every listener kind over a run', () => {
    const rng = new Rng(3);
    const kinds = new Set<string>();
    const payloads = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const packet = nextTftpListenerPacket(rng, ['pxelinux.0']);
      kinds.add(packet.kind);
      // Option lists may exceed an Ethernet frame (loopback carries them): a datagram's limit is what matters.
      expect(packet.bytes.length).toBeLessThanOrEqual(65_507);
      if (packet.kind === 'hostile-name') payloads.add(packet.bytes.subarray(2, packet.bytes.indexOf(0, 2)).toString('latin1'));
    }
    expect([...kinds].sort()).toEqual(['bad-options', 'hostile-name', 'random', 'truncated-rrq', 'wrong-opcode', 'wrq']);
    // Names with an embedded NUL end early on the wire; every other one is sent whole.
    for (const name of HOSTILE_TFTP_NAMES.filter((each) => !each.includes('\u0000'))) expect(payloads.has(name)).toBe(true);
  });

  it('transfer-port packets cover stray ACKs, ERRORs, short and random packets', () => {
    const rng = new Rng(4);
    const kinds = new Set<string>();
    for (let i = 0; i < 500; i++) kinds.add(nextTftpTransferPacket(rng).kind);
    expect([...kinds].sort()).toEqual(['data', 'random', 'short', 'stray-ack', 'stray-error']);
  });
});

describe('HTTP attacks', () => {
  it('list encoded traversal in several spellings for trees and the TFTP root', () => {
    const paths = traversalPaths(targets);
    expect(paths.some((path) => path.includes('%2e%2e'))).toBe(true);
    expect(paths.some((path) => path.includes('%252e'))).toBe(true);
    expect(paths.some((path) => path.includes('%c0%ae'))).toBe(true);
    expect(paths.some((path) => path.startsWith('/tftp/'))).toBe(true);
    expect(paths.some((path) => path.includes('outside-link'))).toBe(true);
  });

  it('include bad methods, huge headers, broken Range and smuggling, each a complete request', () => {
    const attacks = httpAttacks(targets);
    const names = attacks.map((attack) => attack.name).join('\n');
    for (const expected of ['method "FOO"', 'one 100 KiB header', '2000 headers', 'Range bytes=100-50', 'CL and TE both', 'API mutation without token']) expect(names).toContain(expected);
    for (const attack of attacks) expect(attack.request.length).toBeGreaterThan(0);
    expect(attacks.find((attack) => attack.name === 'one 100 KiB header')!.request.length).toBeGreaterThan(100 * 1024);
  });

  it('mutations always end the request head, so the server never waits for more', () => {
    const rng = new Rng(8);
    const attacks = httpAttacks(targets);
    for (let i = 0; i < 300; i++) {
      const request = nextHttpFuzzRequest(rng, attacks);
      if (request.kind !== 'listed') expect(request.bytes.subarray(-4).toString('latin1')).toBe('\r\n\r\n');
    }
  });
});

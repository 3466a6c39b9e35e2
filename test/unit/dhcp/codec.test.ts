import { describe, expect, it } from 'vitest';
import { MessageType, OptionCode } from '../../../src/dhcp/codec/constants.js';
import { describePacket } from '../../../src/dhcp/codec/describe.js';
import { DecodeError } from '../../../src/dhcp/codec/errors.js';
import {
  clientIdKind, domainListKind, ipKind, ipListKind, machineIdKind, networkInterfaceKind, stringKind, u16Kind, u16ListKind,
  u32Kind, u8ListKind, userClassKind, type OptionKind,
} from '../../../src/dhcp/codec/option-kinds.js';
import { describeOption, Option, OPTION_TABLE, readOption, writeOption } from '../../../src/dhcp/codec/options.js';
import { decodePacket, emptyPacket, encodePacket, messageTypeOf } from '../../../src/dhcp/codec/packet.js';
import { buildPxeVendorOptions, readPxeVendorOptions } from '../../../src/dhcp/codec/pxe-vendor.js';
import { readRelayAgentInformation } from '../../../src/dhcp/codec/relay-agent.js';
import { clientPacket, discover, expectRoundTrip, fixtureNames, ip, loadFixture } from './helpers.js';

/** Every prefix, every packet: a value or a DecodeError, nothing else. */
function decodesOrDecodeError(bytes: Buffer): 'ok' | string {
  try {
    decodePacket(bytes);
    return 'ok';
  } catch (error) {
    if (error instanceof DecodeError) return error.code;
    throw error;
  }
}

describe('option kinds: read(write(v)) = v, and bytes of the wrong shape read as null', () => {
  const cases: [string, OptionKind<any>, unknown, Buffer | null][] = [
    ['ip', ipKind, ip('10.0.0.1'), Buffer.from([10, 0, 0])],
    ['ips', ipListKind, [ip('10.0.0.1'), ip('10.0.0.2')], Buffer.from([1, 2, 3, 4, 5])],
    ['u16', u16Kind, 1500, Buffer.from([1])],
    ['u32', u32Kind, 86400, Buffer.from([1, 2])],
    ['u16s (93)', u16ListKind, [7, 0], Buffer.from([0])],
    ['u8s (55)', u8ListKind, [1, 3, 6, 67], null],
    ['string', stringKind, 'PXEClient:Arch:00000:UNDI:002001', null],
    ['client-id (61)', clientIdKind, { type: 1, id: Buffer.from('525400aabbcc', 'hex') }, Buffer.from([1])],
    ['uuid (97)', machineIdKind, { type: 0, guid: Buffer.alloc(16, 7) }, Buffer.alloc(16)],
    ['nic-id (94)', networkInterfaceKind, { type: 1, major: 3, minor: 16 }, Buffer.from([1, 2])],
    ['user-class (77, RFC 3004 list)', userClassKind, ['iPXE', 'lab'], Buffer.alloc(0)],
    ['domain-list (119)', domainListKind, ['lab.test', 'example.org'], Buffer.from([3, 0x61, 0x62])],
  ];
  it.each(cases)('%s', (_name, kind, value, malformed) => {
    expect(kind.read(kind.write(value))).toEqual(value);
    if (malformed !== null) expect(kind.read(malformed)).toBeNull();
    expect(typeof kind.show(value)).toBe('string');
  });

  it('reads iPXE\'s bare "iPXE" user class as one class, not an RFC 3004 list', () => {
    expect(userClassKind.read(Buffer.from('iPXE'))).toEqual(['iPXE']);
  });

  it('drops a trailing NUL some clients count in a string option', () => {
    expect(stringKind.read(Buffer.from('pxelinux.0\0'))).toBe('pxelinux.0');
  });

  it('follows RFC 1035 compression pointers in option 119 backwards only', () => {
    // "lab.test" then "x" + pointer to offset 4 ("test")
    const data = Buffer.from([3, 0x6c, 0x61, 0x62, 4, 0x74, 0x65, 0x73, 0x74, 0, 1, 0x78, 0xc0, 4]);
    expect(domainListKind.read(data)).toEqual(['lab.test', 'x.test']);
    const forward = Buffer.from([0xc0, 2, 1, 0x61, 0]);
    expect(domainListKind.read(forward)).toBeNull();
    const loop = Buffer.from([1, 0x61, 0xc0, 0]);
    expect(domainListKind.read(loop)).toBeNull();
  });

  it('has one table entry per typed option the issue lists', () => {
    for (const code of [1, 3, 6, 12, 15, 28, 43, 50, 51, 53, 54, 55, 57, 58, 59, 60, 61, 66, 67, 77, 82, 93, 94, 97, 119, 175]) {
      expect(OPTION_TABLE.has(code), `option ${code}`).toBe(true);
    }
  });
});

describe('packet round trip', () => {
  it('keeps every header field and option order', () => {
    const packet = clientPacket({ type: MessageType.Request, mac: '52:54:00:12:34:56', ciaddr: '10.1.2.3', giaddr: '10.9.0.1', flags: 0x8000, requested: '10.1.2.3', serverId: '10.1.0.1', hostName: 'node01', arch: 7, vendorClass: 'PXEClient:Arch:00007:UNDI:003000' });
    packet.siaddr = ip('10.1.0.1');
    packet.yiaddr = ip('10.1.2.4');
    packet.hops = 2;
    packet.secs = 9;
    packet.sname = 'bootserver';
    packet.file = 'pxelinux.0';
    expectRoundTrip(packet);
  });

  it('round-trips a zero-length option and an unknown one raw', () => {
    const packet = discover('52:54:00:00:00:01', { extra: [[80, Buffer.alloc(0)], [250, Buffer.from([1, 2, 3])]] });
    expectRoundTrip(packet);
  });

  it('splits an option longer than 255 bytes into consecutive options and joins them back (RFC 3396)', () => {
    const long = Buffer.alloc(600, 0x41);
    const packet = discover('52:54:00:00:00:02', { extra: [[224, long]] });
    const bytes = expectRoundTrip(packet);
    expect(bytes.indexOf(Buffer.from([224, 255]))).toBeGreaterThan(0);
    expect(decodePacket(bytes).options.get(224)!.equals(long)).toBe(true);
  });

  it('pads to the 300-byte BOOTP minimum', () => {
    expect(encodePacket(emptyPacket()).length).toBe(300);
  });

  it.each(fixtureNames())('fixture %s: decode → encode → decode is stable', (name) => {
    const decoded = decodePacket(loadFixture(name));
    expectRoundTrip(decoded);
  });
});

describe('decoding what real clients and bad actors send', () => {
  const base = encodePacket(discover('52:54:00:00:00:03', { vendorClass: 'PXEClient', arch: 0 }));

  it('reads option 52 overload: options in file, then sname', () => {
    const packet = Buffer.from(base);
    const optionsStart = 240;
    // options field: 53, 52=3, END; file field: 67; sname field: 66
    Buffer.from([53, 1, 1, 52, 1, 3, 255]).copy(packet, optionsStart);
    packet.fill(0, optionsStart + 7);
    packet.fill(0, 44, 236);
    Buffer.from([67, 4, 0x61, 0x2e, 0x65, 0x66, 255]).copy(packet, 108);
    Buffer.from([66, 3, 0x31, 0x2e, 0x32, 255]).copy(packet, 44);
    const decoded = decodePacket(packet);
    expect(readOption(decoded.options, Option.bootfileName)).toBe('a.ef');
    expect(readOption(decoded.options, Option.tftpServerName)).toBe('1.2');
    expect(decoded.file).toBe('');
    expect(decoded.sname).toBe('');
    expect(decoded.options.has(OptionCode.Overload)).toBe(false);
  });

  it('joins an option repeated in the packet (RFC 3396 §5)', () => {
    const packet = Buffer.from(base);
    Buffer.from([53, 1, 1, 12, 2, 0x61, 0x62, 12, 2, 0x63, 0x64, 255]).copy(packet, 240);
    expect(readOption(decodePacket(packet).options, Option.hostName)).toBe('abcd');
  });

  const malformed: [string, (bytes: Buffer) => Buffer, string][] = [
    ['239 bytes', (bytes) => bytes.subarray(0, 239), 'truncated'],
    ['a BOOTP cookie', (bytes) => { const copy = Buffer.from(bytes); copy.writeUInt32BE(0, 236); return copy; }, 'bad-cookie'],
    ['an option longer than the packet', (bytes) => { const copy = Buffer.from(bytes.subarray(0, 250)); copy[240] = 12; copy[241] = 200; return copy; }, 'option-length'],
    ['an option with no length byte', (bytes) => { const copy = Buffer.from(bytes.subarray(0, 241)); copy[240] = 12; return copy; }, 'option-length'],
    ['option 52 of two bytes', (bytes) => { const copy = Buffer.from(bytes); Buffer.from([52, 2, 1, 1, 255]).copy(copy, 240); return copy; }, 'bad-overload'],
    ['option 53 of two bytes', (bytes) => { const copy = Buffer.from(bytes); Buffer.from([53, 2, 1, 1, 255]).copy(copy, 240); return copy; }, 'bad-message-type'],
    ['option 53 = 99', (bytes) => { const copy = Buffer.from(bytes); Buffer.from([53, 1, 99, 255]).copy(copy, 240); return copy; }, 'bad-message-type'],
  ];
  it.each(malformed)('%s is a DecodeError with a stable code', (_name, mutate, code) => {
    expect(decodesOrDecodeError(mutate(base))).toBe(code);
  });

  it('gives the offset of the problem', () => {
    const copy = Buffer.from(base.subarray(0, 250));
    copy[240] = 12;
    copy[241] = 200;
    try {
      decodePacket(copy);
      expect.unreachable();
    } catch (error) {
      expect((error as DecodeError).offset).toBe(240);
    }
  });

  it('accepts options that end without END (the field is full)', () => {
    const packet = Buffer.from([...base.subarray(0, 240), 53, 1, 1, 12, 2, 0x61, 0x62]);
    expect(messageTypeOf(decodePacket(packet))).toBe(1);
  });
});

describe('truncation sweep, PAD insertion and random bytes over every fixture', () => {
  const names = fixtureNames();

  it('has fixtures to sweep', () => {
    expect(names.length).toBeGreaterThanOrEqual(10);
  });

  it.each(names)('%s: every prefix decodes or is a DecodeError, never a RangeError/TypeError', (name) => {
    const bytes = loadFixture(name);
    const outcomes = new Set<string>();
    // decodesOrDecodeError rethrows anything that is not a DecodeError, failing the test.
    for (let length = 0; length <= bytes.length; length++) outcomes.add(decodesOrDecodeError(bytes.subarray(0, length)));
    expect(outcomes.has('ok')).toBe(true);
    expect(decodesOrDecodeError(bytes.subarray(0, 239))).toBe('truncated');
  });

  it.each(names)('%s: one PAD byte between any two options decodes the same', (name) => {
    const bytes = loadFixture(name);
    const expected = decodePacket(bytes);
    // Find option boundaries by walking the options field.
    const boundaries: number[] = [];
    for (let at = 240; at < bytes.length && bytes[at] !== 255;) {
      boundaries.push(at);
      at += bytes[at] === 0 ? 1 : 2 + bytes[at + 1]!;
    }
    const expectedText = describePacket(expected);
    for (const at of boundaries) {
      const padded = Buffer.concat([bytes.subarray(0, at), Buffer.from([0]), bytes.subarray(at)]);
      const decoded = decodePacket(padded);
      if (describePacket(decoded) !== expectedText) expect(decoded, `PAD at ${at}`).toEqual(expected);
    }
    expect(boundaries.length).toBeGreaterThan(2);
  });

  it('random bytes and random corruptions of fixtures never throw anything but DecodeError', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const fixtures = names.map(loadFixture);
    for (let round = 0; round < 3000; round++) {
      let bytes: Buffer;
      if (round % 2 === 0) {
        bytes = Buffer.alloc(Math.floor(random() * 700));
        for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
        if (bytes.length >= 240 && random() < 0.7) bytes.writeUInt32BE(0x63825363, 236);
      } else {
        bytes = Buffer.from(fixtures[round % fixtures.length]!);
        const flips = 1 + Math.floor(random() * 6);
        for (let i = 0; i < flips; i++) bytes[240 + Math.floor(random() * (bytes.length - 240))] = Math.floor(random() * 256);
      }
      const outcome = decodesOrDecodeError(bytes);
      if (outcome === 'ok') {
        const decoded = decodePacket(bytes);
        // Every typed accessor copes with whatever the options hold.
        for (const [code, data] of decoded.options) expect(typeof describeOption(code, data)).toBe('string');
      }
    }
  });
});

describe('option 43 (PXE) and option 82 (relay agent)', () => {
  it('builds "use the boot file, no discovery" and reads it back', () => {
    const value = readPxeVendorOptions(buildPxeVendorOptions({ menuLabel: 'netboot' }))!;
    expect(value.discoveryControl).toBe(0x0b);
    expect(value.menu).toEqual([{ type: 0x8000, description: 'netboot' }]);
    expect(value.prompt).toEqual({ timeoutS: 0, text: 'PXE' });
  });

  it('reads relay agent sub-options, and a truncated one as null', () => {
    const data = Buffer.from([1, 3, 0x65, 0x74, 0x68, 2, 2, 0xaa, 0xbb, 5, 4, 10, 9, 0, 0]);
    const info = readRelayAgentInformation(data)!;
    expect(info.circuitId!.toString()).toBe('eth');
    expect(info.remoteId!.toString('hex')).toBe('aabb');
    expect(info.linkSelection).toBe(ip('10.9.0.0'));
    expect(readRelayAgentInformation(Buffer.from([1, 9, 0]))).toBeNull();
  });

  it('writes typed options through the same table it reads with', () => {
    const options = new Map<number, Buffer>();
    writeOption(options, Option.router, [ip('10.0.0.1')]);
    writeOption(options, Option.leaseTime, 3600);
    expect([...options.keys()]).toEqual([3, 51]);
    expect(readOption(options, Option.router)).toEqual([ip('10.0.0.1')]);
    expect(readOption(options, Option.leaseTime)).toBe(3600);
    expect(readOption(options, Option.hostName)).toBeNull();
  });
});

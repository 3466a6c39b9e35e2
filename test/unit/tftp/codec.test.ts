import { describe, expect, it } from 'vitest';
import { DecodeError, decodePacket, encodePacket, encodingLength, ErrorCode, Opcode, writeDataHeader, type TftpPacket } from '../../../src/tftp/codec.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))));

/** Round trip in the dns-packet spirit: lengths agree, decode(encode(v)) = v, encoding at an offset works, re-encode is identical. */
function expectRoundTrip(packet: TftpPacket): Buffer {
  const { buf, end } = encodePacket(packet);
  expect(end).toBe(buf.length);
  expect(encodingLength(packet)).toBe(buf.length);
  const decoded = decodePacket(buf);
  expect(decoded).toEqual(packet);
  expect(encodePacket(decoded).buf.equals(buf)).toBe(true);
  const big = Buffer.alloc(buf.length + 20, 0xee);
  const at = encodePacket(packet, big, 10);
  expect(at.buf).toBe(big);
  expect(at.end).toBe(10 + buf.length);
  expect(big.subarray(10, at.end).equals(buf)).toBe(true);
  return buf;
}

describe('TFTP codec: decode table', () => {
  it.each([
    ['RRQ plain (RFC 1350)', bytes([0, 1], 'pxelinux.0', [0], 'octet', [0]), { opcode: Opcode.ReadRequest, filename: 'pxelinux.0', mode: 'octet', options: [] }],
    ['RRQ mode case-folded', bytes([0, 1], 'a', [0], 'NetASCII', [0]), { opcode: Opcode.ReadRequest, filename: 'a', mode: 'netascii', options: [] }],
    ['RRQ EDK2 probe (tsize 0, blksize)', bytes([0, 1], 'bootx64.efi', [0], 'octet', [0], 'tsize', [0], '0', [0], 'blksize', [0], '1468', [0]),
      { opcode: Opcode.ReadRequest, filename: 'bootx64.efi', mode: 'octet', options: [['tsize', '0'], ['blksize', '1468']] }],
    ['RRQ option names case-insensitive', bytes([0, 1], 'f', [0], 'octet', [0], 'BlkSize', [0], '1024', [0], 'WINDOWSIZE', [0], '4', [0]),
      { opcode: Opcode.ReadRequest, filename: 'f', mode: 'octet', options: [['blksize', '1024'], ['windowsize', '4']] }],
    ['RRQ repeated option: first wins', bytes([0, 1], 'f', [0], 'octet', [0], 'blksize', [0], '1024', [0], 'blksize', [0], '8', [0]),
      { opcode: Opcode.ReadRequest, filename: 'f', mode: 'octet', options: [['blksize', '1024']] }],
    ['RRQ with trailing NUL padding', bytes([0, 1], 'f', [0], 'octet', [0, 0, 0, 0]), { opcode: Opcode.ReadRequest, filename: 'f', mode: 'octet', options: [] }],
    ['WRQ', bytes([0, 2], 'up', [0], 'octet', [0]), { opcode: Opcode.WriteRequest, filename: 'up', mode: 'octet', options: [] }],
    ['RRQ keeps high bytes as latin1', bytes([0, 1], [0xe9, 0xff], [0], 'octet', [0]), { opcode: Opcode.ReadRequest, filename: '\u00e9\u00ff', mode: 'octet', options: [] }],
    ['DATA', hex('0003 0001 616263'), { opcode: Opcode.Data, block: 1, data: Buffer.from('abc') }],
    ['DATA empty last block', hex('0003 ffff'), { opcode: Opcode.Data, block: 65535, data: Buffer.alloc(0) }],
    ['ACK', hex('0004 0000'), { opcode: Opcode.Ack, block: 0 }],
    ['ACK padded', hex('0004 1234 0000'), { opcode: Opcode.Ack, block: 0x1234 }],
    ['ERROR', bytes([0, 5, 0, 1], 'File not found', [0]), { opcode: Opcode.Error, code: 1, message: 'File not found' }],
    ['ERROR without final NUL', bytes([0, 5, 0, 8], 'no'), { opcode: Opcode.Error, code: 8, message: 'no' }],
    ['ERROR with empty message', hex('0005 0000'), { opcode: Opcode.Error, code: 0, message: '' }],
    ['OACK', bytes([0, 6], 'blksize', [0], '1468', [0], 'tsize', [0], '42', [0]), { opcode: Opcode.OptionAck, options: [['blksize', '1468'], ['tsize', '42']] }],
    ['OACK empty', hex('0006'), { opcode: Opcode.OptionAck, options: [] }],
  ] as const)('%s', (_name, wire, expected) => {
    expect(decodePacket(wire)).toEqual(expected);
  });
});

describe('TFTP codec: malformed input is a coded DecodeError', () => {
  it.each([
    ['empty', hex(''), 'truncated'],
    ['one byte', hex('00'), 'truncated'],
    ['opcode 0', hex('0000'), 'bad-opcode'],
    ['opcode 7', hex('0007 0000'), 'bad-opcode'],
    ['opcode 0x0100', hex('0100'), 'bad-opcode'],
    ['RRQ no filename terminator', bytes([0, 1], 'abc'), 'unterminated-string'],
    ['RRQ empty filename', bytes([0, 1], [0], 'octet', [0]), 'empty-filename'],
    ['RRQ no mode', bytes([0, 1], 'a', [0]), 'unterminated-string'],
    ['RRQ mode not terminated', bytes([0, 1], 'a', [0], 'oct'), 'unterminated-string'],
    ['RRQ option without value', bytes([0, 1], 'a', [0], 'octet', [0], 'blksize', [0]), 'option-without-value'],
    ['RRQ option value unterminated', bytes([0, 1], 'a', [0], 'octet', [0], 'blksize', [0], '14'), 'unterminated-string'],
    ['RRQ garbage after padding', bytes([0, 1], 'a', [0], 'octet', [0, 0], 'x', [0]), 'option-without-value'],
    ['DATA short', hex('0003 00'), 'truncated'],
    ['ACK short', hex('0004 00'), 'truncated'],
    ['ERROR short', hex('0005'), 'truncated'],
  ] as const)('%s → %s', (_name, wire, code) => {
    let caught: unknown;
    try {
      decodePacket(wire);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DecodeError);
    expect((caught as DecodeError).code).toBe(code);
  });
});

describe('TFTP codec: round trips', () => {
  it.each<[string, TftpPacket]>([
    ['RRQ', { opcode: Opcode.ReadRequest, filename: 'boot/x64/wdsnbp.com', mode: 'octet', options: [] }],
    ['RRQ with options', { opcode: Opcode.ReadRequest, filename: 'ipxe.efi', mode: 'octet', options: [['blksize', '1468'], ['tsize', '0'], ['windowsize', '64'], ['timeout', '2']] }],
    ['WRQ', { opcode: Opcode.WriteRequest, filename: 'x', mode: 'netascii', options: [] }],
    ['DATA', { opcode: Opcode.Data, block: 65535, data: Buffer.alloc(1468, 7) }],
    ['DATA empty', { opcode: Opcode.Data, block: 0, data: Buffer.alloc(0) }],
    ['ACK', { opcode: Opcode.Ack, block: 42 }],
    ['ERROR', { opcode: Opcode.Error, code: ErrorCode.UnknownTransferId, message: 'Unknown transfer ID' }],
    ['OACK', { opcode: Opcode.OptionAck, options: [['tsize', '104857600'], ['blksize', '1468']] }],
  ])('%s', (_name, packet) => {
    expectRoundTrip(packet);
  });

  it('writeDataHeader writes opcode 3 and the wire block', () => {
    const buf = Buffer.alloc(6, 0xaa);
    writeDataHeader(buf, 1, 0x1234);
    expect([...buf]).toEqual([0xaa, 0, 3, 0x12, 0x34, 0xaa]);
  });

  it('refuses to encode into a buffer that is too small, with a DecodeError', () => {
    expect(() => encodePacket({ opcode: Opcode.Ack, block: 1 }, Buffer.alloc(3))).toThrow(DecodeError);
  });
});

describe('TFTP codec: hostile input never escapes as RangeError/TypeError', () => {
  const fixtures: Buffer[] = [
    bytes([0, 1], 'pxelinux.0', [0], 'octet', [0], 'tsize', [0], '0', [0], 'blksize', [0], '1468', [0], 'windowsize', [0], '4', [0]),
    bytes([0, 2], 'up', [0], 'netascii', [0]),
    hex('0003 0001 00112233'),
    hex('0004 0001'),
    bytes([0, 5, 0, 2], 'Access violation', [0]),
    bytes([0, 6], 'blksize', [0], '1468', [0]),
  ];

  function decodesOrCodedError(buf: Buffer): void {
    try {
      decodePacket(buf);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      expect(typeof error.code).toBe('string');
      expect(error.offset).toBeGreaterThanOrEqual(0);
    }
  }

  it('every prefix of every fixture (truncation sweep)', () => {
    for (const fixture of fixtures) {
      for (let length = 0; length <= fixture.length; length++) decodesOrCodedError(fixture.subarray(0, length));
    }
  });

  it('every single-byte corruption of every fixture', () => {
    for (const fixture of fixtures) {
      for (let i = 0; i < fixture.length; i++) {
        for (const value of [0x00, 0x01, 0x06, 0x7f, 0xff]) {
          const copy = Buffer.from(fixture);
          copy[i] = value;
          decodesOrCodedError(copy);
        }
      }
    }
  });

  it('20,000 random datagrams', () => {
    let seed = 12345;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let n = 0; n < 20_000; n++) {
      const buf = Buffer.alloc(next() % 64);
      for (let i = 0; i < buf.length; i++) buf[i] = next() & 0xff;
      // Bias towards valid opcodes so the deeper paths are exercised.
      if (buf.length >= 2 && n % 2 === 0) buf[0] = 0, buf[1] = 1 + (next() % 6);
      decodesOrCodedError(buf);
    }
  });
});

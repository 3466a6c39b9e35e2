import { describe, expect, it } from 'vitest';
import { cidrContains, formatCidr, formatIpv4, ipv4ToBytes, ipv4ToHex, parseCidr, parseIpv4, parseIpv4Range } from '../../../src/net/ipv4.js';
import { macFromBytes, macToBytes, macWithDashes, parseMac } from '../../../src/net/mac.js';

describe('IPv4', () => {
  it.each([
    ['10.0.0.1', 167772161],
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffffffff],
    [' 192.168.1.2 ', 0xc0a80102],
  ])('parses %s', (text, value) => {
    expect(parseIpv4(text)).toBe(value);
  });
  it.each(['10.0.0', '10.0.0.256', '010.0.0.1', '1.2.3.4.5', 'a.b.c.d', '', '10.0.0.-1'])('refuses %j', (text) => {
    expect(parseIpv4(text)).toBeNull();
  });
  it('formats, hexes and packs', () => {
    expect(formatIpv4(0xc0a80102)).toBe('192.168.1.2');
    expect(ipv4ToHex(parseIpv4('10.77.0.11')!)).toBe('0A4D000B');
    expect([...ipv4ToBytes(parseIpv4('10.77.0.11')!)]).toEqual([10, 77, 0, 11]);
  });
  it('parses CIDRs, refusing host bits', () => {
    const cidr = parseCidr('10.77.0.0/24')!;
    expect(formatCidr(cidr)).toBe('10.77.0.0/24');
    expect(formatIpv4(cidr.broadcast)).toBe('10.77.0.255');
    expect(cidrContains(cidr, parseIpv4('10.77.0.200')!)).toBe(true);
    expect(cidrContains(cidr, parseIpv4('10.77.1.1')!)).toBe(false);
    expect(parseCidr('10.77.0.5/24')).toBeNull();
    expect(parseCidr('10.77.0.0/33')).toBeNull();
    expect(parseCidr('10.77.0.0')).toBeNull();
    expect(parseCidr('0.0.0.0/0')?.mask).toBe(0);
    expect(parseCidr('10.0.0.1/32')?.broadcast).toBe(parseIpv4('10.0.0.1'));
  });
  it('parses ranges, refusing reversed ones', () => {
    expect(parseIpv4Range('10.0.0.5-10.0.0.9')).toEqual({ first: parseIpv4('10.0.0.5'), last: parseIpv4('10.0.0.9') });
    expect(parseIpv4Range('10.0.0.9-10.0.0.5')).toBeNull();
    expect(parseIpv4Range('10.0.0.9')).toBeNull();
  });
});

describe('MAC', () => {
  it.each([
    ['52:54:00:AB:cd:EF', '52:54:00:ab:cd:ef'],
    ['52-54-00-ab-cd-ef', '52:54:00:ab:cd:ef'],
    ['525400ABCDEF', '52:54:00:ab:cd:ef'],
  ])('normalises %s', (text, mac) => {
    expect(parseMac(text)).toBe(mac);
  });
  it.each(['52:54:00:zz:00:01', '52:54-00:ab:cd:ef', '52:54:00:ab:cd', '52:54:00:ab:cd:ef:00', ''])('refuses %j', (text) => {
    expect(parseMac(text)).toBeNull();
  });
  it('converts to and from bytes and pxelinux spelling', () => {
    expect(macFromBytes(macToBytes('52:54:00:ab:cd:ef'))).toBe('52:54:00:ab:cd:ef');
    expect(macWithDashes('52:54:00:ab:cd:ef')).toBe('52-54-00-ab-cd-ef');
  });
});

/** Builders shared by the DHCP unit tests. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { BootOp, MessageType } from '../../../src/dhcp/codec/constants.js';
import { Option, writeOption } from '../../../src/dhcp/codec/options.js';
import { decodePacket, emptyPacket, encodePacket, encodingLength, type DhcpPacket } from '../../../src/dhcp/codec/packet.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import { macToBytes } from '../../../src/net/mac.js';

export const FIXTURE_DIR = resolve(import.meta.dirname, '../../fixtures/dhcp');

export function fixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR).filter((name) => name.endsWith('.hex')).map((name) => name.slice(0, -4)).sort();
}

export function loadFixture(name: string): Buffer {
  return Buffer.from(readFileSync(join(FIXTURE_DIR, `${name}.hex`), 'utf8').replace(/\s+/g, ''), 'hex');
}

export const ip = (text: string): number => parseIpv4(text)!;

export interface RequestSpec {
  type: number;
  mac: string;
  xid?: number;
  ciaddr?: string;
  giaddr?: string;
  flags?: number;
  requested?: string;
  serverId?: string;
  vendorClass?: string;
  arch?: number;
  userClass?: string;
  ipxe?: boolean;
  hostName?: string;
  maxSize?: number;
  extra?: [number, Buffer][];
}

/** A client message as a real client would send it. */
export function clientPacket(spec: RequestSpec): DhcpPacket {
  const packet = emptyPacket();
  packet.op = BootOp.Request;
  packet.xid = spec.xid ?? 0x1234abcd;
  packet.flags = spec.flags ?? 0;
  packet.ciaddr = spec.ciaddr ? ip(spec.ciaddr) : 0;
  packet.giaddr = spec.giaddr ? ip(spec.giaddr) : 0;
  macToBytes(spec.mac).copy(packet.chaddr);
  writeOption(packet.options, Option.messageType, spec.type);
  if (spec.requested) writeOption(packet.options, Option.requestedAddress, ip(spec.requested));
  if (spec.serverId) writeOption(packet.options, Option.serverIdentifier, ip(spec.serverId));
  if (spec.maxSize !== undefined) writeOption(packet.options, Option.maxMessageSize, spec.maxSize);
  if (spec.hostName) writeOption(packet.options, Option.hostName, spec.hostName);
  if (spec.arch !== undefined) writeOption(packet.options, Option.clientArchitecture, [spec.arch]);
  if (spec.vendorClass) writeOption(packet.options, Option.vendorClass, spec.vendorClass);
  if (spec.userClass) packet.options.set(Option.userClass.code, Buffer.from(spec.userClass));
  if (spec.ipxe) packet.options.set(Option.ipxeEncapsulated.code, Buffer.from([0xb1, 0x05, 0x01, 0x80, 0x86, 0x10, 0x0e]));
  for (const [code, data] of spec.extra ?? []) packet.options.set(code, data);
  return packet;
}

export const discover = (mac: string, extra: Partial<RequestSpec> = {}): DhcpPacket => clientPacket({ type: MessageType.Discover, mac, ...extra });
export const request = (mac: string, extra: Partial<RequestSpec> = {}): DhcpPacket => clientPacket({ type: MessageType.Request, mac, ...extra });

/**
 * The round-trip contract (after dns-packet's testEncoder): encodingLength
 * equals the bytes written; decode(encode(p)) deep-equals p; re-encoding is
 * byte-identical; encoding at an offset into a larger buffer works too.
 */
export function expectRoundTrip(packet: DhcpPacket): Buffer {
  const bytes = encodePacket(packet);
  expect(bytes.length).toBe(encodingLength(packet));
  const decoded = decodePacket(bytes);
  expect(decoded).toEqual(packet);
  expect(encodePacket(decoded).equals(bytes)).toBe(true);
  const big = Buffer.alloc(bytes.length + 20, 0xee);
  const returned = encodePacket(packet, big, 10);
  expect(returned).toBe(big);
  expect(big.subarray(10, 10 + bytes.length).equals(bytes)).toBe(true);
  expect(decodePacket(big, 10, 10 + bytes.length)).toEqual(packet);
  return bytes;
}

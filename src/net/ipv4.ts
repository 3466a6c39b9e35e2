/**
 * IPv4 addresses as unsigned 32-bit numbers, the form pools and subnets are
 * computed in. Strings appear only at the edges (config, logs, API).
 */

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** `10.0.0.1` → 167772161; null for anything that is not four decimal octets 0-255 (no leading zeros, which some parsers read as octal). */
export function parseIpv4(text: string): number | null {
  const match = DOTTED_QUAD.exec(text.trim());
  if (!match) return null;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const part = match[i]!;
    if (part.length > 1 && part.startsWith('0')) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value >>> 0;
}

export function formatIpv4(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

export function ipv4ToBytes(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0, 0);
  return bytes;
}

/** Upper-case 8-digit hex of an address, the name pxelinux asks for (`pxelinux.cfg/0A4D000B`). */
export function ipv4ToHex(value: number): string {
  return (value >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

export interface Cidr {
  /** Network address (host bits zero). */
  network: number;
  prefixLength: number;
  /** Netmask as a number, e.g. 0xffffff00 for /24. */
  mask: number;
  broadcast: number;
}

/** `10.77.0.0/24`; null if malformed. Host bits set in the address (`10.77.0.5/24`) are an error: the user probably meant something else. */
export function parseCidr(text: string): Cidr | null {
  const [addressText, prefixText, ...rest] = text.trim().split('/');
  if (rest.length > 0 || addressText === undefined || prefixText === undefined) return null;
  if (!/^\d{1,2}$/.test(prefixText)) return null;
  const prefixLength = Number(prefixText);
  if (prefixLength > 32) return null;
  const address = parseIpv4(addressText);
  if (address === null) return null;
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  if ((address & ~mask) >>> 0 !== 0) return null;
  return { network: address, prefixLength, mask, broadcast: (address | ~mask) >>> 0 };
}

export function cidrContains(cidr: Cidr, address: number): boolean {
  return ((address & cidr.mask) >>> 0) === cidr.network;
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefixLength}`;
}

export interface Ipv4Range {
  first: number;
  last: number;
}

/** `10.77.0.100-10.77.0.199` (inclusive); null if malformed or reversed. */
export function parseIpv4Range(text: string): Ipv4Range | null {
  const parts = text.split('-');
  if (parts.length !== 2) return null;
  const first = parseIpv4(parts[0]!);
  const last = parseIpv4(parts[1]!);
  if (first === null || last === null || last < first) return null;
  return { first, last };
}

/**
 * How an option's payload maps to a value, per kind of payload. Each kind
 * reads leniently (null when the bytes do not fit the kind, so one odd option
 * never costs a client its lease) and writes exactly.
 */
import { formatIpv4 } from '../../net/ipv4.js';
import { EncodeError } from './errors.js';

export interface OptionKind<T> {
  readonly name: string;
  /** The value, or null when the payload does not have this kind's shape. */
  read(data: Buffer): T | null;
  write(value: T): Buffer;
  /** Readable form for logs and the golden `.txt` fixtures. */
  show(value: T): string;
}

function u32s(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

export const ipKind: OptionKind<number> = {
  name: 'ip',
  read: (data) => (data.length === 4 ? data.readUInt32BE(0) : null),
  write: u32s,
  show: formatIpv4,
};

export const ipListKind: OptionKind<number[]> = {
  name: 'ips',
  read: (data) => {
    if (data.length === 0 || data.length % 4 !== 0) return null;
    const addresses: number[] = [];
    for (let i = 0; i < data.length; i += 4) addresses.push(data.readUInt32BE(i));
    return addresses;
  },
  write: (values) => Buffer.concat(values.map(u32s)),
  show: (values) => values.map(formatIpv4).join(', '),
};

export const u8Kind: OptionKind<number> = {
  name: 'u8',
  read: (data) => (data.length === 1 ? data[0]! : null),
  write: (value) => Buffer.from([value & 0xff]),
  show: String,
};

export const u16Kind: OptionKind<number> = {
  name: 'u16',
  read: (data) => (data.length === 2 ? data.readUInt16BE(0) : null),
  write: (value) => {
    const out = Buffer.alloc(2);
    out.writeUInt16BE(value & 0xffff, 0);
    return out;
  },
  show: String,
};

export const u32Kind: OptionKind<number> = {
  name: 'u32',
  read: (data) => (data.length === 4 ? data.readUInt32BE(0) : null),
  write: u32s,
  show: String,
};

/** Option 93 may list several architectures (RFC 4578 §2.1), two bytes each. */
export const u16ListKind: OptionKind<number[]> = {
  name: 'u16s',
  read: (data) => {
    if (data.length === 0 || data.length % 2 !== 0) return null;
    const values: number[] = [];
    for (let i = 0; i < data.length; i += 2) values.push(data.readUInt16BE(i));
    return values;
  },
  write: (values) => {
    const out = Buffer.alloc(values.length * 2);
    values.forEach((value, index) => out.writeUInt16BE(value & 0xffff, index * 2));
    return out;
  },
  show: (values) => values.join(', '),
};

/** Option 55: one byte per requested code. */
export const u8ListKind: OptionKind<number[]> = {
  name: 'u8s',
  read: (data) => [...data],
  write: (values) => Buffer.from(values.map((value) => value & 0xff)),
  show: (values) => values.join(', '),
};

/**
 * NVT ASCII text (RFC 2132 §2). Some clients count a trailing NUL in the
 * length (RFC 2132 says they should not); it is dropped on reading.
 */
export const stringKind: OptionKind<string> = {
  name: 'string',
  read: (data) => {
    const nul = data.indexOf(0);
    return data.toString('latin1', 0, nul === -1 ? data.length : nul);
  },
  write: (value) => Buffer.from(value, 'latin1'),
  show: (value) => JSON.stringify(value),
};

export const bytesKind: OptionKind<Buffer> = {
  name: 'bytes',
  read: (data) => data,
  write: (value) => value,
  show: (value) => `0x${value.toString('hex')}`,
};

/** Option 61 (RFC 2132 §9.14): a type byte (1 = Ethernet) then the identifier. */
export const clientIdKind: OptionKind<{ type: number; id: Buffer }> = {
  name: 'client-id',
  read: (data) => (data.length >= 2 ? { type: data[0]!, id: Buffer.from(data.subarray(1)) } : null),
  write: (value) => Buffer.concat([Buffer.from([value.type]), value.id]),
  show: (value) => `type ${value.type} 0x${value.id.toString('hex')}`,
};

/**
 * Option 97 (RFC 4578 §2.3): type 0 then a 16-byte GUID. Shown in the mixed-
 * endian form SMBIOS and `dmidecode` print, so it matches what admins see.
 */
export const machineIdKind: OptionKind<{ type: number; guid: Buffer }> = {
  name: 'uuid',
  read: (data) => (data.length === 17 ? { type: data[0]!, guid: Buffer.from(data.subarray(1)) } : null),
  write: (value) => Buffer.concat([Buffer.from([value.type]), value.guid]),
  show: (value) => `type ${value.type} ${formatGuid(value.guid)}`,
};

export function formatGuid(guid: Buffer): string {
  if (guid.length !== 16) return guid.toString('hex');
  const hex = (start: number, end: number, reverse: boolean): string => {
    const part = [...guid.subarray(start, end)];
    if (reverse) part.reverse();
    return Buffer.from(part).toString('hex');
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}`;
}

/** Option 94 (RFC 4578 §2.2): type 1 (UNDI) and major.minor. */
export const networkInterfaceKind: OptionKind<{ type: number; major: number; minor: number }> = {
  name: 'nic-id',
  read: (data) => (data.length === 3 ? { type: data[0]!, major: data[1]!, minor: data[2]! } : null),
  write: (value) => Buffer.from([value.type, value.major, value.minor]),
  show: (value) => `type ${value.type} UNDI ${value.major}.${value.minor}`,
};

/**
 * Option 77 user class. RFC 3004 defines a list of length-prefixed classes;
 * iPXE and many firmwares send the bare text instead. A payload that parses
 * exactly as an RFC 3004 list is read as one; anything else is one class.
 */
export const userClassKind: OptionKind<string[]> = {
  name: 'user-class',
  read: (data) => {
    if (data.length === 0) return null;
    const classes: string[] = [];
    let position = 0;
    while (position < data.length) {
      const length = data[position]!;
      if (length === 0 || position + 1 + length > data.length) return [stringKind.read(data)!];
      classes.push(data.toString('latin1', position + 1, position + 1 + length));
      position += 1 + length;
    }
    // A single printable-text class whose first letter happened to be a valid length is far likelier than a list.
    return isPrintable(data) ? [data.toString('latin1')] : classes;
  },
  write: (values) => Buffer.concat(values.map((value) => {
    const text = Buffer.from(value, 'latin1');
    if (text.length === 0 || text.length > 255) throw new EncodeError(`user class "${value}" must be 1-255 bytes`);
    return Buffer.concat([Buffer.from([text.length]), text]);
  })),
  show: (values) => values.map((value) => JSON.stringify(value)).join(', '),
};

function isPrintable(data: Buffer): boolean {
  for (const byte of data) if (byte < 0x20 || byte > 0x7e) return false;
  return true;
}

/**
 * Option 119 (RFC 3397): domain names in RFC 1035 §3.1 label form, with
 * compression pointers that point into the option itself. Pointers must
 * point backwards (RFC 1035 §4.1.4), which also rules out loops.
 */
export const domainListKind: OptionKind<string[]> = {
  name: 'domain-list',
  read: (data) => {
    const names: string[] = [];
    let position = 0;
    while (position < data.length) {
      const name = readName(data, position);
      if (name === null) return null;
      names.push(name.text);
      position = name.end;
    }
    return names;
  },
  write: (names) => Buffer.concat(names.map((name) => {
    const labels = name.replace(/\.$/, '').split('.').filter((label) => label.length > 0);
    const parts: Buffer[] = [];
    for (const label of labels) {
      const bytes = Buffer.from(label, 'latin1');
      if (bytes.length > 63) throw new EncodeError(`label "${label}" is longer than 63 bytes (RFC 1035 §2.3.4)`);
      parts.push(Buffer.from([bytes.length]), bytes);
    }
    parts.push(Buffer.from([0]));
    return Buffer.concat(parts);
  })),
  show: (names) => names.join(', '),
};

function readName(data: Buffer, start: number): { text: string; end: number } | null {
  const labels: string[] = [];
  let position = start;
  let end = -1;
  let lowestJump = start;
  for (;;) {
    if (position >= data.length) return null;
    const length = data[position]!;
    if (length === 0) {
      if (end === -1) end = position + 1;
      break;
    }
    if ((length & 0xc0) === 0xc0) {
      if (position + 1 >= data.length) return null;
      const target = ((length & 0x3f) << 8) | data[position + 1]!;
      if (target >= lowestJump) return null;
      if (end === -1) end = position + 2;
      lowestJump = target;
      position = target;
      continue;
    }
    if ((length & 0xc0) !== 0 || position + 1 + length > data.length) return null;
    labels.push(data.toString('latin1', position + 1, position + 1 + length));
    position += 1 + length;
  }
  return { text: labels.join('.'), end };
}

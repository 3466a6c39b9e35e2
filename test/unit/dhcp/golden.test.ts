/**
 * Golden packets captured from real clients (docs/dhcp.md, "Golden packets"):
 * each test/fixtures/dhcp/NAME.hex decodes to exactly NAME.txt.
 * `UPDATE_FIXTURES=1 npx vitest run test/unit/dhcp/golden.test.ts` rewrites the .txt files.
 *
 * The npm `dhcp` package (0.2.20) is a second, independent decoder: for the
 * subset it decodes correctly (header fields, options 1, 3, 6, 12, 15, 51, 53,
 * 54, 60, 66, 67) it must agree with ours. Beyond that subset it is wrong or
 * silent (issue 2), so nothing else is compared.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describePacket } from '../../../src/dhcp/codec/describe.js';
import { Option, readOption } from '../../../src/dhcp/codec/options.js';
import { clientMac, decodePacket } from '../../../src/dhcp/codec/packet.js';
import { formatIpv4 } from '../../../src/net/ipv4.js';
import { FIXTURE_DIR, fixtureNames, loadFixture } from './helpers.js';

const update = process.env.UPDATE_FIXTURES === '1';
const require = createRequire(import.meta.url);
const npmDhcp = require('dhcp/lib/protocol.js') as { parse(buf: Buffer): { op: number; xid: number; ciaddr: string; yiaddr: string; siaddr: string; giaddr: string; chaddr: string; file: string; options: Record<string, unknown> } };

describe('golden packets', () => {
  it.each(fixtureNames())('%s decodes to its .txt', (name) => {
    const text = describePacket(decodePacket(loadFixture(name)));
    const path = join(FIXTURE_DIR, `${name}.txt`);
    if (update || !existsSync(path)) writeFileSync(path, text);
    expect(text).toBe(readFileSync(path, 'utf8'));
  });

  it('has captures from dhclient, udhcpc, the QEMU iPXE BIOS ROM and OVMF', () => {
    const names = fixtureNames();
    for (const client of ['dhclient-discover', 'udhcpc-discover', 'ipxe-bios-discover', 'ovmf-discover']) expect(names).toContain(client);
  });
});

describe('cross-check with the npm dhcp decoder (basic subset)', () => {
  it.each(fixtureNames())('%s', (name) => {
    const bytes = loadFixture(name);
    const ours = decodePacket(bytes);
    // The package logs "Option N not known" for options it drops; silence it.
    const saved = { log: console.log, error: console.error, warn: console.warn };
    console.log = console.error = console.warn = () => undefined;
    let theirs: ReturnType<typeof npmDhcp.parse>;
    try {
      theirs = npmDhcp.parse(bytes);
    } finally {
      Object.assign(console, saved);
    }
    expect(theirs.op).toBe(ours.op);
    expect(theirs.xid).toBe(ours.xid);
    expect(theirs.ciaddr).toBe(formatIpv4(ours.ciaddr));
    expect(theirs.yiaddr).toBe(formatIpv4(ours.yiaddr));
    expect(theirs.siaddr).toBe(formatIpv4(ours.siaddr));
    expect(theirs.giaddr).toBe(formatIpv4(ours.giaddr));
    expect(theirs.chaddr.toLowerCase().replace(/-/g, ':')).toBe(clientMac(ours));
    expect(theirs.file).toBe(ours.file);
    const o = theirs.options;
    const check = (code: number, value: unknown): void => {
      if (value === null) expect(o[code], `option ${code}`).toBeUndefined();
      else expect(o[code], `option ${code}`).toEqual(value);
    };
    const ipOrNull = (value: number | null): string | null => (value === null ? null : formatIpv4(value));
    const ipsOrNull = (value: number[] | null): string[] | null => (value === null ? null : value.map(formatIpv4));
    check(1, ipOrNull(readOption(ours.options, Option.subnetMask)));
    check(3, ipsOrNull(readOption(ours.options, Option.router)));
    check(6, ipsOrNull(readOption(ours.options, Option.domainServer)));
    check(12, readOption(ours.options, Option.hostName));
    check(15, readOption(ours.options, Option.domainName));
    check(51, readOption(ours.options, Option.leaseTime));
    check(53, readOption(ours.options, Option.messageType));
    check(54, ipOrNull(readOption(ours.options, Option.serverIdentifier)));
    check(60, readOption(ours.options, Option.vendorClass));
    check(66, readOption(ours.options, Option.tftpServerName));
    check(67, readOption(ours.options, Option.bootfileName));
  });
});

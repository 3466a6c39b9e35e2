import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NO_BOOT_STATE } from '../../../src/policy/boot-policy.js';
import { ErrorCode } from '../../../src/tftp/codec.js';
import { blockSourceFor } from '../../../src/tftp/block-source.js';
import { FileResolver, normaliseTftpName, toNetascii, type Resolved } from '../../../src/tftp/files.js';
import { testConfig } from '../../helpers/service-context.js';

const scratch = mkdtempSync(join(tmpdir(), `netboot-tftp-files-${process.pid}-`));
const root = join(scratch, 'root');
mkdirSync(join(root, 'boot', 'x64'), { recursive: true });
mkdirSync(join(root, 'sub'), { recursive: true });
writeFileSync(join(root, 'pxelinux.0'), 'PXE');
writeFileSync(join(root, 'boot', 'x64', 'wdsnbp.com'), 'WDS');
writeFileSync(join(root, 'sub', 'inner.txt'), 'inner');
writeFileSync(join(scratch, 'secret.txt'), 'SECRET outside the root');
symlinkSync('/etc', join(root, 'etc-link'));
symlinkSync(join(scratch, 'secret.txt'), join(root, 'secret-link'));
symlinkSync('sub/inner.txt', join(root, 'inner-link'));
symlinkSync('../../secret.txt', join(root, 'sub', 'relative-escape'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const yaml = (extra = '') => `
server: { address: 127.0.0.1 }
dhcp: { mode: off }
tftp: { port: 0, listen: 127.0.0.1, root: ${root}${extra} }
http: { enabled: false }
profiles:
  inst: { loader: pxelinux, kernel: k/vmlinuz, initrd: k/initrd.img, cmdline: "console=ttyS0 host={{host.name}}" }
hosts:
  - { name: node07, mac: "52:54:00:00:00:07", profile: inst }
`;
const config = testConfig(yaml(), join(scratch, 'lab.yaml'));
const who = { clientAddress: 0x7f000001, macForAddress: () => null, state: NO_BOOT_STATE };

async function read(resolved: Resolved): Promise<Buffer> {
  const source = blockSourceFor(resolved);
  await source.load(0, source.size);
  const out = Buffer.alloc(source.size);
  expect(source.copyOut(0, source.size, out, 0)).toBe(true);
  resolved.release();
  return out;
}

describe('normaliseTftpName (pure)', () => {
  it.each([
    ['pxelinux.0', true, 'pxelinux.0'],
    ['/pxelinux.0', true, 'pxelinux.0'],
    ['//boot//x64/./wdsnbp.com', true, 'boot/x64/wdsnbp.com'],
    ['boot\\x64\\wdsnbp.com', true, 'boot/x64/wdsnbp.com'],
    ['\\boot\\x64\\wdsnbp.com', true, 'boot/x64/wdsnbp.com'],
  ])('%s → %s', (raw, strip, relative) => {
    expect(normaliseTftpName(raw, { stripLeadingSlash: strip })).toEqual({ ok: true, relative });
  });

  it.each([
    ['../etc/passwd', true, ErrorCode.AccessViolation, 'traversal'],
    ['..\\..\\x', true, ErrorCode.AccessViolation, 'traversal'],
    ['a/../../x', true, ErrorCode.AccessViolation, 'traversal'],
    ['a/..', true, ErrorCode.AccessViolation, 'traversal'],
    ['/etc/passwd', false, ErrorCode.AccessViolation, 'absolute-path'],
    ['pxelinux.0\u0000../../etc/passwd', true, ErrorCode.AccessViolation, 'bad-name'],
    ['bad\nname', true, ErrorCode.AccessViolation, 'bad-name'],
    ['a'.repeat(600), true, ErrorCode.AccessViolation, 'name-too-long'],
    ['/', true, ErrorCode.FileNotFound, 'not-a-file'],
    ['./', true, ErrorCode.FileNotFound, 'not-a-file'],
  ])('%j refused (strip %s) with ERROR %i (%s)', (raw, strip, errorCode, reason) => {
    expect(normaliseTftpName(raw, { stripLeadingSlash: strip })).toMatchObject({ ok: false, errorCode, reason });
  });
});

describe('FileResolver: containment in tftp.root', () => {
  const resolver = new FileResolver(1 << 20);

  it.each([
    ['../etc/passwd', ErrorCode.AccessViolation, 'traversal'],
    ['/etc/passwd', ErrorCode.FileNotFound, 'not-found'], // leading / stripped: <root>/etc/passwd does not exist
    ['..\\..\\x', ErrorCode.AccessViolation, 'traversal'],
    ['a/../../x', ErrorCode.AccessViolation, 'traversal'],
    ['etc-link/passwd', ErrorCode.AccessViolation, 'outside-root'],
    ['etc-link', ErrorCode.AccessViolation, 'outside-root'],
    ['secret-link', ErrorCode.AccessViolation, 'outside-root'],
    ['sub/relative-escape', ErrorCode.AccessViolation, 'outside-root'],
    ['with\u0000nul', ErrorCode.AccessViolation, 'bad-name'],
    ['x'.repeat(600), ErrorCode.AccessViolation, 'name-too-long'],
    ['missing.bin', ErrorCode.FileNotFound, 'not-found'],
    ['sub', ErrorCode.FileNotFound, 'not-a-file'],
    ['pxelinux.0/more', ErrorCode.FileNotFound, 'not-found'],
  ])('%j → ERROR %i (%s), nothing outside the root is read', async (rawName, errorCode, reason) => {
    const result = await resolver.resolve(config, { rawName, mode: 'octet', who });
    expect(result).toMatchObject({ ok: false, errorCode, reason });
  });

  it.each([
    ['pxelinux.0', 'PXE'],
    ['/pxelinux.0', 'PXE'],
    ['boot\\x64\\wdsnbp.com', 'WDS'],
    ['inner-link', 'inner'], // a symlink that stays inside the root is fine
  ])('%j is served', async (rawName, content) => {
    const result = await resolver.resolve(config, { rawName, mode: 'octet', who });
    expect(result.ok).toBe(true);
    expect((await read(result as Resolved)).toString()).toBe(content);
  });

  it('with stripLeadingSlash off, an absolute name is refused', async () => {
    const strict = testConfig(yaml(', stripLeadingSlash: false'), join(scratch, 'lab.yaml'));
    expect(await resolver.resolve(strict, { rawName: '/pxelinux.0', mode: 'octet', who })).toMatchObject({ ok: false, errorCode: ErrorCode.AccessViolation, reason: 'absolute-path' });
  });
});

describe('FileResolver: virtual files from the boot policy', () => {
  const resolver = new FileResolver(1 << 20);

  it('pxelinux.cfg/01-<mac> is generated for a configured host', async () => {
    const result = await resolver.resolve(config, { rawName: 'pxelinux.cfg/01-52-54-00-00-00-07', mode: 'octet', who });
    expect(result.ok).toBe(true);
    const text = (await read(result as Resolved)).toString();
    expect(text).toContain('KERNEL k/vmlinuz');
    expect(text).toContain('host=node07');
    expect((result as Resolved).origin).toBe('virtual');
  });

  it('pxelinux.cfg/<hex ip> is generated when the lease view knows the address', async () => {
    const leased = { ...who, macForAddress: (address: number) => (address === 0x0a4d000b ? '52:54:00:00:00:07' : null) };
    const result = await resolver.resolve(config, { rawName: 'pxelinux.cfg/0A4D000B', mode: 'octet', who: leased });
    expect(result.ok).toBe(true);
    expect((await read(result as Resolved)).toString()).toContain('host=node07');
  });

  it('a virtual file in netascii mode is translated', async () => {
    const result = await resolver.resolve(config, { rawName: 'pxelinux.cfg/01-52-54-00-00-00-07', mode: 'netascii', who });
    const text = (await read(result as Resolved)).toString('latin1');
    expect(text).toContain('\r\n');
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
  });
});

describe('FileResolver: the hot-file cache', () => {
  it('reads a file from disk once for many requests, and again when it changes', async () => {
    const resolver = new FileResolver(1 << 20);
    writeFileSync(join(root, 'hot.img'), 'version-1');
    const results = await Promise.all(Array.from({ length: 20 }, () => resolver.resolve(config, { rawName: 'hot.img', mode: 'octet', who })));
    expect(resolver.cache.misses).toBe(1);
    expect(resolver.cache.hits).toBe(19);
    for (const result of results) expect((await read(result as Resolved)).toString()).toBe('version-1');
    // One shared copy, in shared memory so worker threads can read it.
    expect((results[0] as Resolved).content!.buffer).toBe((results[19] as Resolved).content!.buffer);
    expect((results[0] as Resolved).content!.buffer).toBeInstanceOf(SharedArrayBuffer);
    writeFileSync(join(root, 'hot.img'), 'version-two');
    const changed = await resolver.resolve(config, { rawName: 'hot.img', mode: 'octet', who });
    expect((await read(changed as Resolved)).toString()).toBe('version-two');
    expect(resolver.cache.usedBytes).toBe('version-two'.length);
  });

  it('files larger than the budget are streamed from disk in chunks', async () => {
    const resolver = new FileResolver(4);
    const big = Buffer.alloc(700_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    writeFileSync(join(root, 'big.img'), big);
    const result = (await resolver.resolve(config, { rawName: 'big.img', mode: 'octet', who })) as Resolved;
    expect(result.origin).toBe('disk');
    expect(result.content).toBe(null);
    const source = blockSourceFor(result);
    const out = Buffer.alloc(1000);
    expect(source.copyOut(500_000, 1000, out, 0)).toBe(false);
    await source.load(500_000, 1000);
    expect(source.copyOut(500_000, 1000, out, 0)).toBe(true);
    expect(out.equals(big.subarray(500_000, 501_000))).toBe(true);
    result.release();
    expect(resolver.cache.usedBytes).toBe(0);
  });
});

describe('netascii translation', () => {
  it.each([
    ['', ''],
    ['abc', 'abc'],
    ['a\nb', 'a\r\nb'],
    ['a\rb', 'a\r\u0000b'],
    ['a\r\nb', 'a\r\u0000\r\nb'],
    ['\n\n', '\r\n\r\n'],
  ])('%j → %j', (input, output) => {
    expect(toNetascii(Buffer.from(input, 'latin1')).toString('latin1')).toBe(output);
  });
});

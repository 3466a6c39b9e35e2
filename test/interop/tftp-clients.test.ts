/**
 * The TFTP service against the real clients machines and admins use, on
 * 127.0.0.1 with a random port: tftp-hpa, atftp (blksize, windowsize,
 * tsize), curl and busybox. Every fetched file must hash like its source.
 */
import { execFile } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/supervisor/service.js';
import { toNetascii } from '../../src/tftp/files.js';
import { createTftpService } from '../../src/tftp/service.js';
import { hasProgram } from '../helpers/netns.js';
import { makeTestContext, testConfig, type TestContext } from '../helpers/service-context.js';

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), `netboot-tftp-interop-${process.pid}-`));
const root = join(scratch, 'root');
const out = join(scratch, 'out');
mkdirSync(root);
mkdirSync(out);

const SIZES = { 'empty.bin': 0, 'one.bin': 1, '511.bin': 511, '512.bin': 512, '513.bin': 513, '1m.bin': 1 << 20 } as const;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const hashes = new Map<string, string>();
function makeFile(name: string, size: number): void {
  const data = randomFillSync(Buffer.allocUnsafe(size));
  writeFileSync(join(root, name), data);
  hashes.set(name, sha256(data));
}
for (const [name, size] of Object.entries(SIZES)) makeFile(name, size);
// Text with every line ending a netascii translator must get right.
const text = Buffer.from(Array.from({ length: 3000 }, (_, i) => `line ${i}${['\n', '\r\n', '\r', '\n\n'][i % 4]}`).join(''), 'latin1');
writeFileSync(join(root, 'text.cfg'), text);
hashes.set('text.cfg', sha256(text));

let service: Service & { port: number };
let context: TestContext;
beforeAll(async () => {
  const config = testConfig(`
server: { address: 127.0.0.1 }
dhcp: { mode: off }
tftp: { port: 0, listen: 127.0.0.1, root: ${root}, maxTransfersPerClient: 64 }
http: { enabled: false }
`, join(scratch, 'lab.yaml'));
  context = makeTestContext(config);
  service = createTftpService(context) as Service & { port: number };
  await service.start();
});
afterAll(async () => {
  await service?.stop(0);
  rmSync(scratch, { recursive: true, force: true });
});

let counter = 0;
function outPath(): string {
  return join(out, `f${counter++}`);
}
function hashOf(path: string): string {
  return sha256(readFileSync(path));
}
const names = Object.keys(SIZES);
const CLIENT_TIMEOUT_MS = 60_000;

describe('tftp-hpa client', () => {
  it.skipIf(!hasProgram('tftp'))('octet: 0, 1, 511, 512, 513 bytes and 1 MiB (needs tftp-hpa)', async () => {
    for (const name of names) {
      const local = outPath();
      await run('tftp', ['-m', 'binary', '127.0.0.1', String(service.port), '-c', 'get', name, local], { timeout: CLIENT_TIMEOUT_MS });
      expect(hashOf(local), name).toBe(hashes.get(name));
    }
  });

  it.skipIf(!hasProgram('tftp'))('netascii: LF, CR LF and bare CR come back unchanged (needs tftp-hpa)', async () => {
    const local = outPath();
    await run('tftp', ['-m', 'netascii', '127.0.0.1', String(service.port), '-c', 'get', 'text.cfg', local], { timeout: CLIENT_TIMEOUT_MS });
    expect(hashOf(local)).toBe(hashes.get('text.cfg'));
  });

  it.skipIf(!hasProgram('tftp'))('block rollover at 512-byte blocks: 32 MiB + 513 bytes (needs tftp-hpa)', async () => {
    makeFile('32m-plus.bin', 32 * 1024 * 1024 + 513);
    const local = outPath();
    await run('tftp', ['-m', 'binary', '127.0.0.1', String(service.port), '-c', 'get', '32m-plus.bin', local], { timeout: CLIENT_TIMEOUT_MS });
    expect(hashOf(local)).toBe(hashes.get('32m-plus.bin'));
    rmSync(local);
  });
});

describe('atftp client', () => {
  it.skipIf(!hasProgram('atftp'))('blksize 1468 + tsize 0, lock-step and windowsize 16, every size (needs atftp)', async () => {
    for (const extra of [[], ['--option', 'windowsize 16']]) {
      for (const name of names) {
        const local = outPath();
        await run('atftp', ['--option', 'blksize 1468', '--option', 'tsize 0', ...extra, '-g', '-r', name, '-l', local, '127.0.0.1', String(service.port)], { timeout: CLIENT_TIMEOUT_MS });
        expect(hashOf(local), `${name} ${extra.join(' ')}`).toBe(hashes.get(name));
      }
    }
  });

  it.skipIf(!hasProgram('atftp'))('netascii (needs atftp)', async () => {
    const local = outPath();
    const child = run('atftp', ['127.0.0.1', String(service.port)], { timeout: CLIENT_TIMEOUT_MS });
    child.child.stdin!.end(`mode netascii\nget text.cfg ${local}\nquit\n`);
    await child;
    expect(hashOf(local)).toBe(hashes.get('text.cfg'));
  });

  it.skipIf(!hasProgram('atftp'))('100 MiB at blksize 1468, windowsize 16: rollover past block 65535 (needs atftp)', async () => {
    makeFile('100m.bin', 100 * 1024 * 1024);
    const local = outPath();
    await run('atftp', ['--option', 'blksize 1468', '--option', 'windowsize 16', '--option', 'tsize 0', '-g', '-r', '100m.bin', '-l', local, '127.0.0.1', String(service.port)], { timeout: 120_000 });
    expect(hashOf(local)).toBe(hashes.get('100m.bin'));
    rmSync(local);
    rmSync(join(root, '100m.bin'));
  }, 150_000);
});

describe('curl tftp://', () => {
  it.skipIf(!hasProgram('curl'))('--tftp-blksize 1468 and the default 512, every size but 0 (needs curl)', async () => {
    // curl 7.88 fails every 0-byte TFTP download with "getpeername() failed
    // with errno 107", against tftpd-hpa and atftpd alike: a curl bug.
    for (const blksize of [['--tftp-blksize', '1468'], []]) {
      for (const name of names.filter((n) => n !== 'empty.bin')) {
        const local = outPath();
        await run('curl', ['-sS', ...blksize, '-o', local, `tftp://127.0.0.1:${service.port}/${name}`], { timeout: CLIENT_TIMEOUT_MS });
        expect(hashOf(local), name).toBe(hashes.get(name));
      }
    }
  });

  it.skipIf(!hasProgram('curl'))('netascii: curl stores the wire form untranslated, which must be exact netascii (needs curl)', async () => {
    const local = outPath();
    await run('curl', ['-sS', '-o', local, `tftp://127.0.0.1:${service.port}/text.cfg;mode=netascii`], { timeout: CLIENT_TIMEOUT_MS });
    expect(hashOf(local)).toBe(sha256(toNetascii(text)));
  });
});

describe('busybox tftp', () => {
  it.skipIf(!hasProgram('busybox'))('-b 1468 and default blocks, every size (needs busybox)', async () => {
    for (const blksize of [['-b', '1468'], []]) {
      for (const name of names) {
        const local = outPath();
        await run('busybox', ['tftp', '-g', '-r', name, '-l', local, ...blksize, '127.0.0.1', String(service.port)], { timeout: CLIENT_TIMEOUT_MS });
        expect(existsSync(local), name).toBe(true);
        expect(hashOf(local), name).toBe(hashes.get(name));
      }
    }
  });
});

describe('afterwards', () => {
  it('every transfer is accounted for: none failed, none left active', async () => {
    // A finished transfer keeps its port for PORT_LINGER_MS (to count late datagrams) before its books close.
    for (let i = 0; i < 100 && (service.status() as { active: number }).active > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const status = service.status() as { failed: number; active: number; completed: number };
    expect(status.active).toBe(0);
    expect(status.failed).toBe(0);
    expect(context.transfers.size).toBe(0);
  });
});

/**
 * Real clients through a bad network: a UDP proxy on loopback drops 10% and
 * duplicates 10% of the datagrams in each direction (and reorders a few).
 * Every transfer must still complete with exactly the right bytes.
 */
import { execFile } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/supervisor/service.js';
import { createTftpService } from '../../src/tftp/service.js';
import { hasProgram } from '../helpers/netns.js';
import { makeTestContext, testConfig } from '../helpers/service-context.js';
import { startUdpProxy, type UdpProxy } from '../helpers/udp-proxy.js';

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), `netboot-tftp-loss-${process.pid}-`));
const root = join(scratch, 'root');
mkdirSync(root);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const hashes = new Map<string, string>();
for (const [name, size] of [['a.bin', 48 * 1024], ['b.bin', 96 * 1024], ['c.bin', 20 * 1024]] as const) {
  const data = randomFillSync(Buffer.allocUnsafe(size));
  writeFileSync(join(root, name), data);
  hashes.set(name, sha256(data));
}

/**
 * atftp 0.8 aborts ("unexpected OACK") when it sees an OACK twice, which a
 * lost ACK 0 (the server then resends its OACK) or a duplicated OACK causes
 * with any server. So the OACK and its ACK 0 are spared; every DATA and
 * every other ACK takes its chances.
 */
const isOackOrAck0 = (datagram: Buffer) => datagram.length >= 2 && datagram[0] === 0 && (datagram[1] === 6 || (datagram[1] === 4 && datagram.length >= 4 && datagram[2] === 0 && datagram[3] === 0));
const impairment = { drop: 0.1, duplicate: 0.1, reorder: 0.02, spare: isOackOrAck0 };
let service: Service & { port: number };
let proxy: UdpProxy;
beforeAll(async () => {
  const config = testConfig(`
server: { address: 127.0.0.1 }
dhcp: { mode: off }
tftp: { port: 0, listen: 127.0.0.1, root: ${root}, maxTransfersPerClient: 64, retries: 10 }
http: { enabled: false }
`, join(scratch, 'lab.yaml'));
  service = createTftpService(makeTestContext(config)) as Service & { port: number };
  await service.start();
  proxy = await startUdpProxy({ target: { address: '127.0.0.1', port: service.port }, toServer: impairment, toClient: impairment, seed: 20261126 });
});
afterAll(async () => {
  await proxy?.close();
  await service?.stop(0);
  rmSync(scratch, { recursive: true, force: true });
});

const missing = ['atftp', 'tftp', 'busybox'].filter((program) => !hasProgram(program));

describe('TFTP through a lossy, duplicating, reordering network', () => {
  it.skipIf(missing.length > 0)(`atftp (lock-step and windowsize 8), tftp-hpa and busybox all get exact copies (needs ${['atftp', 'tftp', 'busybox'].join(', ')}${missing.length ? `; missing: ${missing.join(', ')}` : ''})`, async () => {
    const port = String(proxy.port);
    const fetches: { name: string; local: string; done: Promise<unknown> }[] = [];
    const fetch = (name: string, local: string, done: Promise<unknown>) => fetches.push({ name, local, done });
    const opts = { timeout: 100_000 };
    let n = 0;
    const local = () => join(scratch, `out${n++}`);

    for (const name of ['a.bin', 'b.bin']) {
      const lockStep = local();
      fetch(name, lockStep, run('atftp', ['--tftp-timeout', '1', '--option', 'blksize 1468', '-g', '-r', name, '-l', lockStep, '127.0.0.1', port], opts));
      const windowed = local();
      fetch(name, windowed, run('atftp', ['--tftp-timeout', '1', '--option', 'blksize 1468', '--option', 'windowsize 8', '-g', '-r', name, '-l', windowed, '127.0.0.1', port], opts));
      const bb = local();
      fetch(name, bb, run('busybox', ['tftp', '-g', '-r', name, '-l', bb, '-b', '1468', '127.0.0.1', port], opts));
    }
    const hpa = local();
    const hpaRun = run('tftp', ['127.0.0.1', port], opts);
    hpaRun.child.stdin!.end(`mode octet\nrexmt 1\ntimeout 90\nget c.bin ${hpa}\nquit\n`);
    fetch('c.bin', hpa, hpaRun);

    await Promise.all(fetches.map((f) => f.done));
    for (const f of fetches) expect(sha256(readFileSync(f.local)), `${f.name} → ${f.local}`).toBe(hashes.get(f.name));
    // The network really was bad.
    expect(proxy.toServer.dropped + proxy.toClient.dropped).toBeGreaterThan(10);
    expect(proxy.toServer.duplicated + proxy.toClient.duplicated).toBeGreaterThan(10);
    expect((service.status() as { retransmits: number }).retransmits).toBeGreaterThan(0);
  }, 110_000);
});

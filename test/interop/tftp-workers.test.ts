/**
 * The built service (dist/) with its transfer worker threads: the vitest run
 * of TypeScript sources runs transfers on the main thread, so this file
 * checks the worker path (shared-memory cache, streamed files by fd,
 * ERROR 5 and drain from inside a worker) against the compiled code that
 * production runs. Needs `npm run build` first (`npm test` does it).
 */
import { execFile } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/supervisor/service.js';
import { hasProgram } from '../helpers/netns.js';
import { makeTestContext, testConfig } from '../helpers/service-context.js';

const run = promisify(execFile);
const distService = join(__dirname, '..', '..', 'dist', 'tftp', 'service.js');
const distWorker = join(__dirname, '..', '..', 'dist', 'tftp', 'transfer-worker.js');
const skipReason = !existsSync(distService) || !existsSync(distWorker) ? 'needs a build (npm run build)' : !hasProgram('atftp') ? 'needs atftp' : null;

const scratch = mkdtempSync(join(tmpdir(), `netboot-tftp-workers-${process.pid}-`));
const root = join(scratch, 'root');
mkdirSync(root);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const cached = randomFillSync(Buffer.allocUnsafe(3 * 1024 * 1024 + 7));
const streamed = randomFillSync(Buffer.allocUnsafe(5 * 1024 * 1024 + 3)); // above the cache budget: read by fd in the worker
writeFileSync(join(root, 'cached.bin'), cached);
writeFileSync(join(root, 'streamed.bin'), streamed);

let service: Service & { port: number };
beforeAll(async () => {
  if (skipReason) return;
  process.env['NETBOOT_TFTP_WORKERS'] = '2';
  const { createTftpService } = (await import(distService)) as typeof import('../../src/tftp/service.js');
  const config = testConfig(`
server: { address: 127.0.0.1 }
dhcp: { mode: off }
tftp: { port: 0, listen: 127.0.0.1, root: ${root}, maxTransfersPerClient: 64, cacheBytes: 4194304 }
http: { enabled: false }
`, join(scratch, 'lab.yaml'));
  service = createTftpService(makeTestContext(config)) as Service & { port: number };
  await service.start();
});
afterAll(async () => {
  delete process.env['NETBOOT_TFTP_WORKERS'];
  await service?.stop(0);
  rmSync(scratch, { recursive: true, force: true });
});

describe.skipIf(skipReason)(`TFTP transfer worker threads (${skipReason ?? 'dist build'})`, () => {
  it('serves cached and streamed files from worker threads, lock-step and windowed, concurrently', async () => {
    expect(service.status()).toMatchObject({ workerThreads: 2 });
    const fetches = [];
    for (const name of ['cached.bin', 'streamed.bin']) {
      for (const extra of [[], ['--option', 'windowsize 16']]) {
        const local = join(scratch, `${name}-${extra.length}`);
        fetches.push(run('atftp', ['--option', 'blksize 1468', ...extra, '-g', '-r', name, '-l', local, '127.0.0.1', String(service.port)], { timeout: 60_000 }).then(() => ({ name, local })));
      }
    }
    for (const { name, local } of await Promise.all(fetches)) {
      expect(sha256(readFileSync(local)), local).toBe(sha256(name === 'cached.bin' ? cached : streamed));
    }
    // A finished transfer keeps its port for PORT_LINGER_MS (to count late datagrams) before its books close.
    for (let i = 0; i < 100 && (service.status() as { active: number }).active > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(service.status()).toMatchObject({ completed: 4, failed: 0, active: 0 });
  });

  it('an RRQ again from the same port after a worker-run size probe is a new transfer (the worker says the old one ended)', async () => {
    const client = createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    const next = () => new Promise<{ msg: Buffer; port: number }>((resolve) => client.once('message', (msg, from) => resolve({ msg, port: from.port })));
    const before = service.status() as { started: number; sizeProbes: number };
    let reply = next();
    client.send(Buffer.from('\x00\x01cached.bin\x00octet\x00tsize\x000\x00', 'latin1'), service.port, '127.0.0.1');
    const probe = await reply;
    expect(probe.msg[1]).toBe(6);
    client.send(Buffer.from('\x00\x05\x00\x08probe\x00', 'latin1'), probe.port, '127.0.0.1');
    // The ERROR reaches the worker and the new RRQ the main thread in either order: an RRQ that arrives while the probe
    // still waits for its ACK 0 is taken for a retransmission and ignored, so the client resends it, as clients do.
    reply = next();
    const rrq = Buffer.from('\x00\x01cached.bin\x00octet\x00tsize\x000\x00timeout\x0030\x00', 'latin1');
    client.send(rrq, service.port, '127.0.0.1');
    const resend = setInterval(() => client.send(rrq, service.port, '127.0.0.1'), 200);
    const oack = await reply;
    clearInterval(resend);
    expect(oack.msg[1]).toBe(6);
    expect(oack.port).not.toBe(probe.port);
    client.send(Buffer.from('\x00\x05\x00\x08probe again\x00', 'latin1'), oack.port, '127.0.0.1');
    for (let i = 0; i < 100 && (service.status() as { active: number }).active > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(service.status()).toMatchObject({ started: before.started + 2, sizeProbes: before.sizeProbes + 2, failed: 0, active: 0 });
    client.close();
  });

  it('a stranger gets ERROR 5 from a worker-run transfer; stop(drainMs) aborts it with an ERROR', async () => {
    const client = createSocket('udp4');
    const stranger = createSocket('udp4');
    await Promise.all([client, stranger].map((s) => new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))));
    const next = (s: typeof client) => new Promise<{ msg: Buffer; port: number }>((resolve) => s.once('message', (msg, from) => resolve({ msg, port: from.port })));
    const first = next(client);
    client.send(Buffer.from('\x00\x01cached.bin\x00octet\x00timeout\x0030\x00', 'latin1'), service.port, '127.0.0.1');
    const oack = await first;
    expect(oack.msg[1]).toBe(6);
    const data1 = next(client);
    client.send(Buffer.from([0, 4, 0, 0]), oack.port, '127.0.0.1');
    expect((await data1).msg[1]).toBe(3);
    const error5 = next(stranger);
    stranger.send(Buffer.from([0, 4, 0, 1]), oack.port, '127.0.0.1');
    const reply = await error5;
    expect([reply.msg[1], reply.msg[3]]).toEqual([5, 5]);
    const goodbye = next(client);
    await service.stop(50);
    expect((await goodbye).msg[1]).toBe(5);
    expect(service.status()).toMatchObject({ unknownTid: 1, active: 0, failed: 1 });
    client.close();
    stranger.close();
  });
});

import { mkdtempSync, openSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_CHUNK_BYTES, fileStreamStats, streamFile, type StreamOutcome } from '../../../src/http/file-stream.js';

const SIZE = 3 * FILE_CHUNK_BYTES + 12_345;
const content = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) content[i] = (i * 131 + (i >> 9)) & 0xff;

const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('streamFile', () => {
  let dir: string;
  let server: Server;
  let port = 0;
  /** What the next request streams, and where its outcome goes. */
  let plan: { path: string; start: number; length: number; beforeStream?: () => void } = { path: '', start: 0, length: 0 };
  let outcomes: Promise<StreamOutcome>[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netboot-file-stream-'));
    writeFileSync(join(dir, 'file.bin'), content);
    server = createServer((_request, res) => {
      const fd = openSync(plan.path, 'r');
      res.writeHead(200, { 'content-length': String(plan.length) });
      plan.beforeStream?.();
      outcomes.push(streamFile(res, fd, plan.start, plan.length, { sent: 0 }));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((done) => server.close(done));
    rmSync(dir, { recursive: true, force: true });
  });

  const fetch = (): Promise<{ response: IncomingMessage; body: Buffer; error: Error | null }> => new Promise((resolve) => {
    get({ host: '127.0.0.1', port, path: '/', agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ response, body: Buffer.concat(chunks), error: null }));
      response.on('error', (error) => resolve({ response, body: Buffer.concat(chunks), error }));
    });
  });

  it('sends a multi-chunk range byte-exact, closes the file and leaves nothing active', async () => {
    outcomes = [];
    const fdsBefore = openFds();
    plan = { path: join(dir, 'file.bin'), start: 1000, length: SIZE - 2000 };
    const { body } = await fetch();
    expect(await outcomes[0]).toBe('complete');
    expect(body.equals(content.subarray(1000, SIZE - 1000))).toBe(true);
    expect(fileStreamStats().activeDownloads).toBe(0);
    await new Promise((done) => setTimeout(done, 50));
    expect(openFds()).toBeLessThanOrEqual(fdsBefore);
  });

  it('a client that goes away mid-download ends the pump: aborted, file closed, nothing active', async () => {
    outcomes = [];
    const fdsBefore = openFds();
    // Larger than loopback's socket buffers can hold (a few MiB each way), so the pump is still at work when the client leaves.
    const big = join(dir, 'big.bin');
    writeFileSync(big, '');
    truncateSync(big, 64 * 1024 * 1024);
    plan = { path: big, start: 0, length: 64 * 1024 * 1024 };
    await new Promise<void>((resolve) => {
      get({ host: '127.0.0.1', port, path: '/', agent: false }, (response) => {
        response.once('data', () => {
          response.pause();
          setTimeout(() => {
            response.destroy();
            resolve();
          }, 100);
        });
      });
    });
    // The server's socket may still be writing into its send buffer; it sees the close soon after.
    expect(await outcomes[0]).toBe('aborted');
    expect(fileStreamStats().activeDownloads).toBe(0);
    await new Promise((done) => setTimeout(done, 50));
    expect(openFds()).toBeLessThanOrEqual(fdsBefore);
  });

  it('a file cut short under the pump breaks the connection rather than sending a wrong length', async () => {
    outcomes = [];
    const path = join(dir, 'shrinking.bin');
    writeFileSync(path, content);
    plan = { path, start: 0, length: SIZE, beforeStream: () => truncateSync(path, FILE_CHUNK_BYTES) };
    const { body, error } = await fetch();
    expect(await outcomes[0]).toBe('read-error');
    expect(error).not.toBeNull();
    expect(body.length).toBeLessThan(SIZE);
    expect(fileStreamStats().activeDownloads).toBe(0);
  });

  it('an empty range just ends the response', async () => {
    outcomes = [];
    plan = { path: join(dir, 'file.bin'), start: 0, length: 0 };
    const { body } = await fetch();
    expect(await outcomes[0]).toBe('complete');
    expect(body.length).toBe(0);
  });
});

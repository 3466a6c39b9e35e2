/**
 * Boot once end to end: the installer's callback over HTTP, state on disk,
 * a restart (a new store and a new app on the same state folder), re-arm.
 * And the store's own failure paths: a folder that does not exist yet, one
 * that cannot be written, a damaged file.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NetbootError } from '../../../src/errors.js';
import { createHttpApp } from '../../../src/http/app.js';
import { createLogger, silentLogger } from '../../../src/log/logger.js';
import { BOOT_ONCE_FILE_NAME, FileBootOnceStore } from '../../../src/state/boot-once-store.js';
import { API_TOKEN, makeLab, type Lab } from './lab.js';
import { Writable } from 'node:stream';

const NODE03_SCRIPT = '/boot/52:54:00:12:34:58.ipxe';
const auth = { authorization: `Bearer ${API_TOKEN}` };

let lab: Lab | null = null;
let scratch: string | null = null;
afterEach(() => {
  lab?.cleanup();
  lab = null;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = null;
});

describe('boot once across a restart', () => {
  it('done survives a restart; reinstall re-arms and that survives too', async () => {
    lab = makeLab();
    const first = createHttpApp(lab.context);
    expect((await first.inject(NODE03_SCRIPT)).body).toContain('kernel ');
    // The install's late command, from the host's own address (node03 is 127.0.0.1), no token.
    expect((await first.inject({ method: 'POST', url: '/api/hosts/node03/done', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
    await first.close();

    const statePath = join(lab.config.stateDir, BOOT_ONCE_FILE_NAME);
    expect(JSON.parse(readFileSync(statePath, 'utf8')).hosts.node03.doneAt).toBeGreaterThan(0);
    expect(statSync(statePath).mode & 0o777).toBe(0o600);

    // "Restart": a new store read from the same folder, a new app around it.
    const restarted = new FileBootOnceStore(lab.config.stateDir, silentLogger());
    lab.context.bootOnce = restarted;
    lab.context.bootState = { isOnceDone: (name) => restarted.isDone(name) };
    const second = createHttpApp(lab.context);
    const script = (await second.inject(NODE03_SCRIPT)).body;
    expect(script).toContain('exit');
    expect(script).not.toContain('kernel ');
    expect((await second.inject('/api/hosts')).json().hosts[2]).toMatchObject({ name: 'node03', bootOnce: 'done' });

    expect((await second.inject({ method: 'POST', url: '/api/hosts/node03/reinstall', headers: auth })).statusCode).toBe(200);
    await second.close();

    const again = new FileBootOnceStore(lab.config.stateDir, silentLogger());
    expect(again.isDone('node03')).toBe(false);
    lab.context.bootOnce = again;
    lab.context.bootState = { isOnceDone: (name) => again.isDone(name) };
    const third = createHttpApp(lab.context);
    expect((await third.inject(NODE03_SCRIPT)).body).toContain('kernel ');
    await third.close();
    expect(lab.events.list().map((event) => event.kind)).toEqual(expect.arrayContaining(['boot.done', 'boot.rearmed']));
  });
});

describe('FileBootOnceStore', () => {
  it('creates a missing state folder (owner-only) on the first write', async () => {
    scratch = mkdtempSync(join(tmpdir(), `netboot-once-${process.pid}-`));
    const dir = join(scratch, 'var', 'lib', 'netboot');
    const store = new FileBootOnceStore(dir, silentLogger());
    await store.markDone('node03');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(new FileBootOnceStore(dir, silentLogger()).isDone('node03')).toBe(true);
  });

  it.skipIf(process.getuid?.() === 0)('rejects with NETBOOT_ERR_STATE_WRITE and changes nothing when the folder is read-only (skipped as root: root writes anyway)', async () => {
    scratch = mkdtempSync(join(tmpdir(), `netboot-once-${process.pid}-`));
    const store = new FileBootOnceStore(scratch, silentLogger());
    chmodSync(scratch, 0o500);
    try {
      await expect(store.markDone('node03')).rejects.toMatchObject({ code: 'NETBOOT_ERR_STATE_WRITE' });
      expect(store.isDone('node03')).toBe(false);
    } finally {
      chmodSync(scratch, 0o700);
    }
  });

  it('rejects with NETBOOT_ERR_STATE_WRITE when the state path is not a folder, and the API says 500 with the code', async () => {
    scratch = mkdtempSync(join(tmpdir(), `netboot-once-${process.pid}-`));
    const notADir = join(scratch, 'file');
    writeFileSync(notADir, 'x');
    const store = new FileBootOnceStore(notADir, silentLogger());
    const error = await store.markDone('node03').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NetbootError);
    expect((error as NetbootError).code).toBe('NETBOOT_ERR_STATE_WRITE');
    expect((error as Error).message).toContain(join(notADir, BOOT_ONCE_FILE_NAME));
    expect(store.isDone('node03')).toBe(false);

    lab = makeLab();
    lab.context.bootOnce = store;
    const app = createHttpApp(lab.context);
    const response = await app.inject({ method: 'POST', url: '/api/hosts/node03/done', headers: auth });
    await app.close();
    expect(response.statusCode).toBe(500);
    expect(response.json().code).toBe('NETBOOT_ERR_STATE_WRITE');
    expect(lab.events.list().at(-1)).toMatchObject({ kind: 'state.error', host: 'node03', outcome: 'failure' });
  });

  it('keeps a copy of a damaged file, logs NETBOOT_ERR_STATE_CORRUPT, and starts with every host armed', () => {
    scratch = mkdtempSync(join(tmpdir(), `netboot-once-${process.pid}-`));
    writeFileSync(join(scratch, BOOT_ONCE_FILE_NAME), '{"version":1,"hosts":{"node0');
    const lines: string[] = [];
    const log = createLogger({ pretty: false, destination: new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } }) });
    const store = new FileBootOnceStore(scratch, log);
    expect(store.list()).toEqual([]);
    expect(readdirSync(scratch).some((name) => name.startsWith(`${BOOT_ONCE_FILE_NAME}.damaged-`))).toBe(true);
    expect(lines.join('')).toContain('NETBOOT_ERR_STATE_CORRUPT');
  });

  it('keeps the complete records of a partly damaged file', () => {
    scratch = mkdtempSync(join(tmpdir(), `netboot-once-${process.pid}-`));
    writeFileSync(join(scratch, BOOT_ONCE_FILE_NAME), JSON.stringify({ version: 1, hosts: { good: { doneAt: 5 }, bad: { doneAt: 'yesterday' }, worse: null } }));
    const store = new FileBootOnceStore(scratch, silentLogger());
    expect(store.list()).toEqual([{ host: 'good', state: 'done', doneAt: 5 }]);
    expect(readdirSync(scratch).some((name) => name.includes('.damaged-'))).toBe(true);
  });

  it('removes temp files a crash left behind, and keeps the real file', () => {
    scratch = mkdtempSync(join(tmpdir(), `netboot-once-${process.pid}-`));
    writeFileSync(join(scratch, BOOT_ONCE_FILE_NAME), JSON.stringify({ version: 1, hosts: { node03: { doneAt: 7 } } }));
    const stray = join(scratch, `.${BOOT_ONCE_FILE_NAME}.tmp-123-abc`);
    writeFileSync(stray, '{"half');
    const store = new FileBootOnceStore(scratch, silentLogger());
    expect(existsSync(stray)).toBe(false);
    expect(store.isDone('node03')).toBe(true);
  });

  it('serialises concurrent writes: the last change wins on disk', async () => {
    scratch = mkdtempSync(join(tmpdir(), `netboot-once-${process.pid}-`));
    mkdirSync(scratch, { recursive: true });
    const store = new FileBootOnceStore(scratch, silentLogger());
    await Promise.all([store.markDone('a'), store.markDone('b'), store.rearm('a'), store.markDone('c')]);
    expect(new FileBootOnceStore(scratch, silentLogger()).list().map((record) => record.host).sort()).toEqual(['b', 'c']);
  });
});

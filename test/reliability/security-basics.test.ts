/**
 * Property 8: security basics, against the real process on loopback.
 * - The API token is compared in constant time (source check: digests +
 *   timingSafeEqual, no ===/!== on the token anywhere) and never logged, even
 *   at log level trace, whatever the client sends.
 * - State files (leases, boot-once) are created 0600, their folder is not
 *   world-accessible.
 * - No directory listings over HTTP.
 * - `netboot check` warns when the API listens beyond loopback without a
 *   token, and not otherwise.
 * - A request for a file outside every root is refused (HTTP and TFTP) and
 *   logged with the client's address.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLabFiles, type LabConfigOptions, type LabFiles } from '../../src/tools/fuzz/lab-files.js';
import { httpRequest, NetbootProcess } from '../../src/tools/fuzz/target.js';
import { rrq } from '../../src/tools/fuzz/tftp-packets.js';
import { NETBOOT_MAIN, recordResult, reliabilitySkipReason } from './support.js';

const buildMissing = reliabilitySkipReason() === 'needs a build (dist/cli/main.js): run `npx tsc -p tsconfig.build.json`';
const TOKEN = 'sEcReT-rel-token-7f3a9c1e5b2d4f60';
const SRC = resolve(import.meta.dirname, '../../src');

function listSources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listSources(join(folder, entry.name)) : entry.name.endsWith('.ts') ? [join(folder, entry.name)] : []);
}

describe('API token comparison (code review as a test)', () => {
  it('compares the token only through digests and timingSafeEqual', () => {
    const auth = readFileSync(join(SRC, 'http/auth.ts'), 'utf8');
    expect(auth).toMatch(/timingSafeEqual\(digest\(given\), digest\(configured\)\)/);
    // Nowhere in the server is the configured token compared with === / !== (a short-circuiting, timing-leaky compare).
    const offenders = listSources(SRC).filter((file) => !file.includes('/tools/')).filter((file) =>
      /apiToken\s*[!=]==\s*(?!null|undefined)|[!=]==\s*[\w.]*apiToken\b(?!\s*===?\s*null)/.test(readFileSync(file, 'utf8').replace(/apiToken\s*[!=]==\s*(null|undefined)/g, '')));
    expect(offenders).toEqual([]);
  });
});

describe.skipIf(buildMissing)(`security basics against the running process${buildMissing ? ' — skipped: needs a build' : ''}`, () => {
  let lab: LabFiles;
  let netboot: NetbootProcess;
  // Fixed per-file ranges below the kernel's ephemeral ports (32768+), so no
  // outgoing connection and no other test file can hold them.
  const tftpPort = 10_000 + (process.pid % 2000);
  const httpPort = 12_000 + (process.pid % 2000);
  const base = `http://127.0.0.1:${httpPort}`;
  const figures: Record<string, unknown> = {};
  const config = (): LabConfigOptions => ({
    serverAddress: '127.0.0.1',
    tftp: { listen: '127.0.0.1', port: tftpPort },
    http: { listen: '127.0.0.1', port: httpPort, apiToken: TOKEN },
    hosts: [{ name: 'node01', mac: '52:54:00:78:08:01', profile: 'install', once: true }],
    logLevel: 'trace',
    // A folder netboot must create itself, so its mode is netboot's choice.
    stateDir: join(lab.dir, 'state-made-by-netboot'),
  });

  beforeAll(async () => {
    lab = makeLabFiles({ bigBytes: 64 * 1024 });
    lab.writeConfig(config());
    netboot = await NetbootProcess.start({ configPath: lab.configPath });
  });

  afterAll(async () => {
    await netboot?.stop();
    recordResult('security-basics', figures);
  });

  it('never logs the API token, whatever a client sends', async () => {
    const calls: [string, Record<string, string>][] = [
      ['/api/hosts/node01/done', { authorization: `Bearer ${TOKEN}` }],
      ['/api/hosts/node01/reinstall', { authorization: `Bearer ${TOKEN}` }],
      ['/api/hosts/node01/done', { authorization: `Bearer ${TOKEN}x` }],
      ['/api/hosts/node01/done', { authorization: `Basic ${TOKEN}` }],
      ['/api/hosts/nope/done', { authorization: `Bearer ${TOKEN}` }],
      [`/trees/debian/${TOKEN}`, { authorization: `Bearer ${TOKEN}` }],
    ];
    const statuses: number[] = [];
    for (const [path, headers] of calls) statuses.push((await httpRequest(`${base}${path}`, { method: 'POST', headers })).status);
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses[2]).toBe(403);
    expect(statuses[3]).toBe(401);
    await new Promise((done) => setTimeout(done, 300));
    // The path that contained the token is logged (it is a URL), so look only for the token outside that one request's URL.
    const output = netboot.rawOutput.split(`/trees/debian/${TOKEN}`).join('/trees/debian/<path>');
    figures.tokenOccurrencesInLogs = output.split(TOKEN).length - 1;
    figures.logLinesChecked = netboot.lines.length;
    expect(output).not.toContain(TOKEN);
  });

  it('creates state files 0600 in a folder closed to others (the lease file: damaged-state.test.ts)', async () => {
    await httpRequest(`${base}/api/hosts/node01/done`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    const stateDir = join(lab.dir, 'state-made-by-netboot');
    const bootOnce = statSync(join(stateDir, 'boot-once.json'));
    expect(bootOnce.mode & 0o777).toBe(0o600);
    figures.bootOnceMode = (bootOnce.mode & 0o777).toString(8);
    const folder = statSync(stateDir);
    expect(folder.mode & 0o007).toBe(0);
    figures.stateDirMode = (folder.mode & 0o777).toString(8);
  });

  it('lists no directory over HTTP', async () => {
    const results: Record<string, number> = {};
    for (const path of ['/trees/debian/', '/trees/debian', '/trees/', '/tftp/', '/tftp/demo/', '/tftp/demo', '/tftp']) {
      const response = await httpRequest(`${base}${path}`);
      results[path] = response.status;
      const body = response.body.toString();
      expect(body).not.toContain('big.bin');
      expect(body).not.toContain('vmlinuz');
      expect(response.status === 200 && /<a href|Index of/i.test(body)).toBe(false);
    }
    figures.directoryRequests = results;
  });

  it('refuses files outside every root and logs the client address (HTTP and TFTP)', async () => {
    const httpPaths = ['/trees/debian/outside-link/secret.txt', '/trees/debian/..%2f..%2f..%2foutside%2fsecret.txt', '/tftp/outside-link/secret.txt', '/tftp/..%2f..%2foutside/secret.txt'];
    const httpStatuses: number[] = [];
    for (const path of httpPaths) {
      const response = await httpRequest(`${base}${path}`);
      httpStatuses.push(response.status);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.body.toString()).not.toContain(lab.canary);
    }
    const tftpNames = ['outside-link/secret.txt', '../outside/secret.txt', '/etc/passwd'];
    const tftpReplies: string[] = [];
    const socket = createSocket('udp4');
    await new Promise<void>((done) => socket.bind(0, '127.0.0.1', () => done()));
    for (const name of tftpNames) {
      const reply = await new Promise<Buffer | null>((done) => {
        const timer = setTimeout(() => done(null), 3000);
        socket.once('message', (message) => { clearTimeout(timer); done(message); });
        socket.send(rrq(name, 'octet'), tftpPort, '127.0.0.1');
      });
      expect(reply).not.toBeNull();
      expect(reply!.readUInt16BE(0)).toBe(5); // ERROR, never DATA
      tftpReplies.push(`ERROR ${reply!.readUInt16BE(2)}`);
    }
    socket.close();
    await new Promise((done) => setTimeout(done, 300));
    // Every refusal is in the log with the client's address.
    const refusals = netboot.lines.filter((line) => /refused/i.test(String(line.msg)));
    const loggedWithAddress = (needle: string): boolean => refusals.some((line) => JSON.stringify(line).includes(needle) && JSON.stringify(line).includes('127.0.0.1'));
    const missing = [...httpPaths.map((path) => path.split('/').pop()!), ...tftpNames].filter((needle) => !loggedWithAddress(needle.replace(/%2f/g, '/').split('/').pop()!));
    figures.outOfRoot = { httpStatuses, tftpReplies, refusalsLogged: refusals.length, missingFromLog: missing };
    expect(missing).toEqual([]);
  });

  it('netboot check warns about an API beyond loopback without a token, and only then', () => {
    const run = (http: LabConfigOptions['http']): string => {
      lab.writeConfig({ ...config(), http });
      const result = spawnSync(process.execPath, [NETBOOT_MAIN, 'check', '--config', lab.configPath], { encoding: 'utf8' });
      return `${result.stdout}\n${result.stderr}`;
    };
    const open = run({ listen: '0.0.0.0', port: httpPort });
    const withToken = run({ listen: '0.0.0.0', port: httpPort, apiToken: TOKEN });
    const loopback = run({ listen: '127.0.0.1', port: httpPort });
    lab.writeConfig(config());
    const warns = (text: string): boolean => /apiToken/.test(text) && /warn/i.test(text) && /0\.0\.0\.0/.test(text);
    figures.checkWarns = { openNoToken: warns(open), openWithToken: warns(withToken), loopbackNoToken: warns(loopback) };
    expect(warns(open)).toBe(true);
    expect(warns(withToken)).toBe(false);
    expect(warns(loopback)).toBe(false);
    expect(open).not.toContain(TOKEN);
    expect(withToken).not.toContain(TOKEN);
  });
});



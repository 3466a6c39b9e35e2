/**
 * Shared setup for the reliability property tests: a namespace pair on a
 * 10.78.<n>.0/24 subnet (tag `rel`), a scratch appliance (lab-files.ts), the
 * real netboot process started inside the server namespace, and small
 * helpers to reach its API from inside that namespace (curl) and to list
 * leases the way an admin does (`netboot leases`).
 *
 * NETBOOT_LONG=1 selects the long versions (npm run reliability).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { makeLabFiles, type LabConfigOptions, type LabFiles } from '../../src/tools/fuzz/lab-files.js';
import { NetbootProcess, parseMetrics, type ApiStatus, type MetricSample } from '../../src/tools/fuzz/target.js';
import { POOL_SCRIPT } from '../helpers/dhcp-client-pool.js';
import { createVethLab, hasProgram, ip, netnsUnavailableReason, nsExec, type VethLab } from '../helpers/netns.js';

export const LONG = process.env.NETBOOT_LONG === '1';
export const NETBOOT_MAIN = resolve(import.meta.dirname, '../../dist/cli/main.js');

/** Why the namespace-based reliability tests cannot run here, or null. */
export function reliabilitySkipReason(programs: string[] = []): string | null {
  const netns = netnsUnavailableReason();
  if (netns) return netns;
  if (!existsSync(NETBOOT_MAIN)) return 'needs a build (dist/cli/main.js): run `npx tsc -p tsconfig.build.json`';
  if (!existsSync(POOL_SCRIPT)) return 'needs a build (dist/tools/dhcp-client-pool.js)';
  for (const program of programs) if (!hasProgram(program)) return `needs ${program}`;
  return null;
}

export interface RelLab {
  veth: VethLab;
  files: LabFiles;
  /** 10.78.<n> */
  prefix: string;
  serverAddress: string;
  /** The client namespace's own fixed address (outside the pool). */
  clientAddress: string;
  poolFirst: number;
  poolLast: number;
  httpPort: number;
  config: LabConfigOptions;
  writeConfig(change?: (config: LabConfigOptions) => void): void;
  start(extra?: { logFile?: string }): Promise<NetbootProcess>;
  /** curl inside the server namespace; returns status and body. */
  http(path: string, options?: { method?: string; token?: string; timeoutS?: number; output?: string }): { status: number; body: string };
  status(): ApiStatus;
  metrics(): MetricSample[];
  /** `netboot leases --config FILE --json` as an admin runs it (no server needed). */
  leases(): { mac: string; ip: string; state: string }[];
  destroy(): void;
}

/**
 * Namespace pair `nbt-rel<n>-{s,c}-<pid>`: server 10.78.<n>.1/24, client
 * 10.78.<n>.2/24, pool .100-.199 made local in the client namespace (so the
 * client pool receives unicast replies to ciaddr, see dhcp-client-pool.ts).
 */
export function createRelLab(subnet: number, options: { bigBytes?: number; dhcp?: boolean; tftp?: Partial<LabConfigOptions['tftp']>; http?: Partial<LabConfigOptions['http']>; leaseTime?: string } = {}): RelLab {
  const prefix = `10.78.${subnet}`;
  const veth = createVethLab(`rel${subnet}`, `${prefix}.1/24`, `${prefix}.2/24`);
  try {
    // The pool range is "local" in the client namespace (AnyIP): the kernel answers ARP for it and delivers to the pool's socket.
    for (const range of ['96/27', '128/26', '192/29']) ip('-n', veth.client, 'route', 'add', 'local', `${prefix}.${range}`, 'dev', 'lo', 'table', 'local');
  } catch (error) {
    veth.destroy();
    throw error;
  }
  const files = makeLabFiles({ bigBytes: options.bigBytes ?? 1024 * 1024 });
  const httpPort = 8080;
  const config: LabConfigOptions = {
    serverAddress: `${prefix}.1`,
    dhcp: options.dhcp === false
      ? { mode: 'off', subnet: `${prefix}.0/24`, pool: `${prefix}.100-${prefix}.199` }
      : { mode: 'authoritative', subnet: `${prefix}.0/24`, pool: `${prefix}.100-${prefix}.199`, leaseTime: options.leaseTime ?? '1h', offerHold: '10s' },
    tftp: { listen: '0.0.0.0', port: 69, ...options.tftp },
    http: { listen: '0.0.0.0', port: httpPort, ...options.http },
  };
  const lab: RelLab = {
    veth, files, prefix,
    serverAddress: `${prefix}.1`,
    clientAddress: `${prefix}.2`,
    poolFirst: 100,
    poolLast: 199,
    httpPort,
    config,
    writeConfig: (change) => {
      change?.(config);
      files.writeConfig(config);
    },
    start: (extra) => NetbootProcess.start({ configPath: files.configPath, namespace: veth.server, ...(extra?.logFile ? { logFile: extra.logFile } : {}) }),
    http: (path, request = {}) => {
      const args = ['-s', '-m', String(request.timeoutS ?? 10), '-o', request.output ?? '-', '-w', '\n%{http_code}', '-X', request.method ?? 'GET'];
      if (request.token) args.push('-H', `Authorization: Bearer ${request.token}`);
      const run = spawnSync('ip', ['netns', 'exec', veth.server, 'curl', ...args, `http://127.0.0.1:${httpPort}${path}`], { encoding: 'utf8', timeout: ((request.timeoutS ?? 10) + 5) * 1000 });
      const text = run.stdout ?? '';
      const cut = text.lastIndexOf('\n');
      return { status: Number(text.slice(cut + 1)) || 0, body: text.slice(0, cut) };
    },
    status: () => {
      const result = lab.http('/api/status');
      if (result.status !== 200) throw new Error(`/api/status answered ${result.status}: ${result.body}`);
      return JSON.parse(result.body) as ApiStatus;
    },
    metrics: () => parseMetrics(lab.http('/metrics').body),
    leases: () => {
      const out = execFileSync(process.execPath, [NETBOOT_MAIN, 'leases', '--config', files.configPath, '--json'], { encoding: 'utf8', timeout: 30_000 });
      const parsed = JSON.parse(out) as { leases?: { mac: string; ip: string; state: string }[] } | { mac: string; ip: string; state: string }[];
      return Array.isArray(parsed) ? parsed : parsed.leases ?? [];
    },
    destroy: () => {
      veth.destroy();
      if (!process.env.NETBOOT_KEEP) rmSync(files.dir, { recursive: true, force: true });
    },
  };
  lab.writeConfig();
  return lab;
}

/** Runs `command` in the client namespace (atftp, udhcpc, curl …). */
export function inClient(lab: RelLab, command: string, args: string[], timeoutMs = 60_000): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync('ip', ['netns', 'exec', lab.veth.client, command, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { code: run.status, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}

/** Runs a command without blocking the event loop (several clients run at once); never rejects. */
export function runAsync(command: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => { clearTimeout(timer); done({ code, stdout, stderr }); });
  });
}

/** A command in the client namespace, without blocking the event loop, so several clients run at once. */
export function inClientAsync(lab: RelLab, command: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runAsync('ip', ['netns', 'exec', lab.veth.client, command, ...args], timeoutMs);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

export { nsExec };

/**
 * Writes a property's measured figures to test/reliability/results/<name>.json
 * (with the mode, short or long, and the date). RELIABILITY.md quotes these
 * files and nothing else.
 */
export function recordResult(name: string, figures: Record<string, unknown>): void {
  const folder = resolve(import.meta.dirname, 'results');
  mkdirSync(folder, { recursive: true });
  const file = resolve(folder, `${name}${LONG ? '.long' : ''}.json`);
  writeFileSync(file, `${JSON.stringify({ property: name, mode: LONG ? 'long' : 'short', at: new Date().toISOString(), ...figures }, null, 2)}\n`);
  console.log(`[reliability] ${name}: ${JSON.stringify(figures)}`);
}

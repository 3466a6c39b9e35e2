/**
 * A netboot process under test, as the admin runs it (`node dist/cli/main.js
 * serve --config FILE`), optionally inside a network namespace: start it, wait
 * for its ready line, read its log lines, its RSS from /proc, /api/status and
 * /metrics, and kill it. Shared by the fuzzer and the reliability tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/cli/main.js beside this module once built (this file lives in dist/tools/fuzz/ or src/tools/fuzz/). */
export function netbootMainPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../../cli/main.js'), resolve(here, '../../../dist/cli/main.js')];
  return candidates.find((path) => existsSync(path)) ?? candidates[1]!;
}

export interface LogLine {
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

export interface StartOptions {
  configPath: string;
  /** Run inside this network namespace (`ip netns exec`). */
  namespace?: string;
  /** Extra arguments after `serve --config FILE`. */
  extraArgs?: string[];
  /** Also write every output line here. */
  logFile?: string;
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export class NetbootProcess {
  readonly lines: LogLine[] = [];
  /** Raw text of stdout and stderr, for "the token never appears" checks. */
  rawOutput = '';
  private readonly waiters: { test: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess, logFile?: string) {
    const sink = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
    let pending = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      this.rawOutput += text;
      sink?.write(text);
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        const raw = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        let line: LogLine;
        try { line = JSON.parse(raw) as LogLine; } catch { line = { msg: raw, plain: true }; }
        this.lines.push(line);
        for (let i = this.waiters.length - 1; i >= 0; i--) {
          if (this.waiters[i]!.test(line)) { this.waiters[i]!.resolve(line); this.waiters.splice(i, 1); }
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exit = new Promise((done) => child.once('exit', (code, signal) => { sink?.end(); done({ code, signal }); }));
  }

  get pid(): number { return this.child.pid!; }
  get alive(): boolean { return this.child.exitCode === null && this.child.signalCode === null; }

  static async start(options: StartOptions): Promise<NetbootProcess> {
    const args = [netbootMainPath(), 'serve', '--config', options.configPath, ...(options.extraArgs ?? [])];
    // `ip netns exec` execs the command in place, so the child's pid is node's own (RSS and signals reach netboot itself).
    const child = options.namespace
      ? spawn('ip', ['netns', 'exec', options.namespace, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env })
      : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    const netboot = new NetbootProcess(child, options.logFile);
    const ready = netboot.waitFor((line) => line.msg === 'netboot ready', options.readyTimeoutMs ?? 20_000);
    const exited = netboot.exit.then(({ code, signal }) => {
      throw new Error(`netboot exited (code ${code}, signal ${signal}) before it was ready:\n${netboot.rawOutput.slice(-4000)}`);
    });
    await Promise.race([ready, exited]);
    return netboot;
  }

  /** Resolves with the first log line (already seen or future) that passes `test`. */
  waitFor(test: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; last lines:\n${this.rawOutput.slice(-3000)}`)), timeoutMs);
      this.waiters.push({ test, resolve: (line) => { clearTimeout(timer); resolvePromise(line); } });
    });
  }

  /** Resident set size in bytes, from /proc (VmRSS). */
  rssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  }

  signal(name: NodeJS.Signals): void {
    if (this.alive) this.child.kill(name);
  }

  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await this.exit;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.alive) return this.exit;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const result = await this.exit;
    clearTimeout(timer);
    return result;
  }
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A plain GET (or other method) over node:http with a timeout; for requests made from the same namespace as netboot. */
export function httpRequest(url: string, options: { method?: string; headers?: Record<string, string>; timeoutMs?: number; body?: string } = {}): Promise<HttpResult> {
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, timeout: options.timeoutMs ?? 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${options.timeoutMs ?? 10_000} ms: ${url}`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface ServiceStatus {
  state: string;
  restarts: number;
  lastError: string | null;
  status?: Record<string, unknown>;
}

export interface ApiStatus {
  services: Record<string, ServiceStatus>;
  [key: string]: unknown;
}

export async function fetchStatus(baseUrl: string): Promise<ApiStatus> {
  const result = await httpRequest(`${baseUrl}/api/status`);
  if (result.status !== 200) throw new Error(`/api/status answered ${result.status}`);
  return JSON.parse(result.body.toString()) as ApiStatus;
}

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text format (what /metrics serves) into samples. */
export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

export async function fetchMetrics(baseUrl: string): Promise<MetricSample[]> {
  const result = await httpRequest(`${baseUrl}/metrics`);
  if (result.status !== 200) throw new Error(`/metrics answered ${result.status}`);
  return parseMetrics(result.body.toString());
}

/** Sum of a metric's samples whose labels include `match`. */
export function metricSum(samples: MetricSample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(match).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** The kernel's UDP counters for the current network namespace (/proc/net/snmp): receive-buffer overflows are drops netboot never saw. */
export function udpCounters(): Record<string, number> {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((name, i) => [name, values[i]!]));
}

#!/usr/bin/env node
/**
 * `npm run fuzz`: hostile input against a real netboot process, then proof it
 * is still whole.
 *
 * It starts netboot itself (as root: inside a network namespace pair it
 * creates, so DHCP replies can reach nothing but that pair; otherwise on
 * loopback with DHCP off), sends a bounded number of random, truncated and
 * mutated DHCP packets (ports 67 and 4011), TFTP packets (port 69 and live
 * transfer ports) and malformed HTTP requests, then checks: the process is
 * alive; no service restarted (/api/status); RSS is back within 10% of the
 * warmed-up baseline (/proc); real clients (atftp, curl, udhcpc) still get
 * exact answers; nothing outside a root was served (a canary file outside
 * every root never appears in a response); and the drop counters in /metrics
 * account for the packets. Exit status 0 only when every check holds.
 *
 *   node dist/tools/fuzz.js --packets 100000 [--seed N] [--json FILE] [--no-netns]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { nextDhcpFuzzPacket, type DhcpFuzzKind } from './fuzz/dhcp-packets.js';
import { httpAttacks, nextHttpFuzzRequest, type HttpAttack } from './fuzz/http-attacks.js';
import { makeLabFiles, type LabFiles } from './fuzz/lab-files.js';
import { Rng } from './fuzz/rng.js';
import { NetbootProcess, fetchMetrics, fetchStatus, httpRequest, udpCounters, type ApiStatus, type MetricSample } from './fuzz/target.js';
import { ack, errorPacket, nextTftpListenerPacket, nextTftpTransferPacket, rrq, TftpOpcode } from './fuzz/tftp-packets.js';

const NETNS_SUBNET_PREFIX = '10.78.40';
const SERVER_ADDRESS = `${NETNS_SUBNET_PREFIX}.1`;
const RSS_TOLERANCE = 0.1;

export interface FuzzOptions {
  packets: number;
  seed: number;
  /** Run DHCP too: only inside the namespace pair this tool made. */
  clientNamespace: string | null;
  json: string | null;
  keep: boolean;
  /** Pause between bursts, to stay under the socket buffers (kernel drops are counted anyway). */
  burst: number;
  /** Share of transfers a fuzz client starts and then leaves without a word (the server's timeout path). */
  silentAbandon: number;
  /** Longest wait for RSS to come back down after the run, in seconds. */
  settleS: number;
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface FuzzReport {
  seed: number;
  packetsRequested: number;
  sent: { dhcp: Record<string, number>; dhcpProxy: number; tftpListener: Record<string, number>; tftpTransfer: Record<string, number>; http: Record<string, number> };
  totals: { dhcp: number; tftp: number; http: number; all: number };
  kernelUdpDrops: number;
  /** Packets the kernel refused because nothing listened (port 4011 when proxy mode is off). */
  closedPortPackets: number;
  tftpReplies: Record<string, number>;
  httpStatuses: Record<string, number>;
  victimTransfers: { started: number; completed: number; exact: number; failed: number };
  violations: string[];
  /** Packets of the same mix sent before the baseline was taken (not in `sent`). */
  warmupPackets: number;
  rss: { coldBytes: number; baselineBytes: number; peakBytes: number; finalBytes: number; afterPhaseBytes: Record<string, number> };
  /**
   * Where the memory is, at the baseline and after each phase: RSS by kind of mapping (/proc/PID/smaps: the main
   * malloc heap, anonymous mappings (V8 pages, thread malloc arenas), file-backed) and each TFTP worker thread's V8 heap
   * (not in the main isolate's figures; /api/status tftp.workerHeaps).
   */
  memory: Record<string, MemorySnapshot>;
  drops: { service: string; reason: string; count: number }[];
  accounting: Record<string, { sent: number; counted: number; kernelDropped: number }>;
  checks: Check[];
  durationS: number;
  phaseS: Record<string, number>;
  /** netboot's own log during the run: lines by level, and the most frequent warn/error messages (a scanner must not flood the log). */
  log: { byLevel: Record<string, number>; topWarnings: { level: string; msg: string; count: number }[] };
  ok: boolean;
}

/** RSS by kind of mapping, and the TFTP workers' heaps, at one moment. */
export interface MemorySnapshot {
  rssBytes: number;
  mallocHeapBytes: number;
  anonymousBytes: number;
  fileBytes: number;
  workerHeaps: unknown[];
}

// ---- small helpers -------------------------------------------------------

/** RSS by kind of mapping, from /proc/PID/smaps. */
function mappingRss(pid: number): { mallocHeapBytes: number; anonymousBytes: number; fileBytes: number } {
  const totals = { mallocHeapBytes: 0, anonymousBytes: 0, fileBytes: 0 };
  let kind: keyof typeof totals = 'anonymousBytes';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      const name = header[1]!.trim();
      kind = name === '[heap]' ? 'mallocHeapBytes' : name === '' || name.startsWith('[') ? 'anonymousBytes' : 'fileBytes';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) totals[kind] += Number(rss[1]) * 1024;
  }
  return totals;
}

async function memorySnapshot(netboot: NetbootProcess, baseUrl: string): Promise<MemorySnapshot> {
  const rssBytes = netboot.rssBytes();
  const mappings = mappingRss(netboot.pid);
  let workerHeaps: unknown[] = [];
  try {
    workerHeaps = ((await fetchStatus(baseUrl)).services.tftp?.status as { workerHeaps?: unknown[] } | undefined)?.workerHeaps ?? [];
  } catch {
    // not answering: the RSS figures still tell
  }
  return { rssBytes, ...mappings, workerHeaps };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function bump(counter: Record<string, number>, key: string, by = 1): void {
  counter[key] = (counter[key] ?? 0) + by;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function udpSocket(address: string): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => { socket.off('error', reject); resolve(); });
  });
  socket.on('error', () => undefined); // ICMP port unreachable on a closed port: not our failure
  return socket;
}

function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Sends with a pause every `burst` packets so the run measures netboot, not the socket buffer. */
class Pacer {
  private count = 0;
  constructor(private readonly burst: number) {}
  async tick(): Promise<void> {
    if (++this.count % this.burst === 0) await sleep(1);
  }
}

// ---- phases ---------------------------------------------------------------

async function fuzzDhcp(rng: Rng, count: number, report: FuzzReport, pacer: Pacer): Promise<void> {
  const sockets = await Promise.all(Array.from({ length: 8 }, () => udpSocket('0.0.0.0')));
  for (const socket of sockets) socket.setBroadcast(true);
  for (let i = 0; i < count; i++) {
    const packet = nextDhcpFuzzPacket(rng);
    // One in five goes to the PXE boot-server port 4011 (proxy mode's follow-up; closed when proxy mode is off).
    const toProxy = rng.below(5) === 0;
    rng.pick(sockets).send(packet.bytes, toProxy ? 4011 : 67, '127.0.0.1');
    if (toProxy) report.sent.dhcpProxy++;
    else bump(report.sent.dhcp, packet.kind);
    await pacer.tick();
  }
  await sleep(200);
  for (const socket of sockets) socket.close();
}

interface VictimState {
  stop: boolean;
  port: number | null;
}

/**
 * A real lock-step transfer of big.bin kept going while strangers spray its
 * transfer port: RFC 1350 §4 says a packet from a wrong TID gets ERROR 5 and
 * must not disturb the transfer. Each completed copy is checked byte-exact.
 */
async function runVictims(lab: LabFiles, tftpPort: number, state: VictimState, report: FuzzReport): Promise<void> {
  const expected = lab.files['big.bin']!;
  while (!state.stop) {
    report.victimTransfers.started++;
    const socket = await udpSocket('127.0.0.1');
    const blocks: Buffer[] = [];
    let nextBlock = 1;
    const result = await new Promise<'done' | 'failed'>((resolve) => {
      let timer: NodeJS.Timeout;
      let lastSent: { bytes: Buffer; port: number } = { bytes: rrq('big.bin', 'octet', [['blksize', '1468']]), port: tftpPort };
      let tries = 0;
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (++tries > 6) { resolve('failed'); return; }
          socket.send(lastSent.bytes, lastSent.port, '127.0.0.1');
          arm();
        }, 1000);
      };
      socket.on('message', (message, remote) => {
        const opcode = message.readUInt16BE(0);
        if (opcode === TftpOpcode.Oack) {
          state.port = remote.port;
          lastSent = { bytes: ack(0), port: remote.port };
          socket.send(lastSent.bytes, remote.port, '127.0.0.1');
          tries = 0;
          arm();
        } else if (opcode === TftpOpcode.Data) {
          state.port = remote.port;
          const block = message.readUInt16BE(2);
          if (block === (nextBlock & 0xffff)) {
            blocks.push(Buffer.from(message.subarray(4)));
            nextBlock++;
            tries = 0;
          }
          lastSent = { bytes: ack(block), port: remote.port };
          socket.send(lastSent.bytes, remote.port, '127.0.0.1');
          if (message.length - 4 < 1468 && block === ((nextBlock - 1) & 0xffff)) { clearTimeout(timer); resolve('done'); return; }
          arm();
        } else if (opcode === TftpOpcode.Error) {
          clearTimeout(timer);
          resolve('failed');
        }
      });
      socket.send(lastSent.bytes, tftpPort, '127.0.0.1');
      arm();
    });
    state.port = null;
    socket.close();
    if (result === 'done') {
      report.victimTransfers.completed++;
      const data = Buffer.concat(blocks);
      if (data.length === expected.size && sha256(data) === expected.sha256) report.victimTransfers.exact++;
      else report.violations.push(`victim transfer completed with wrong contents (${data.length} bytes)`);
    } else {
      report.victimTransfers.failed++;
    }
  }
}

async function fuzzTftp(rng: Rng, lab: LabFiles, tftpPort: number, count: number, report: FuzzReport, pacer: Pacer, silentAbandon: number): Promise<void> {
  const realNames = ['pxelinux.0', 'undionly.kpxe', 'big.bin', 'demo/vmlinuz', 'pxelinux.cfg/default'];
  // Fuzz comes from 127.0.0.2-33, so per-client limits it trips never touch the real clients on 127.0.0.1.
  const sockets = await Promise.all(Array.from({ length: 32 }, (_, i) => udpSocket(`127.0.0.${i + 2}`)));
  for (const socket of sockets) {
    socket.on('message', (message, remote) => {
      if (message.length < 2) { bump(report.tftpReplies, 'short'); return; }
      const opcode = message.readUInt16BE(0);
      if (opcode === TftpOpcode.Error) bump(report.tftpReplies, `error-${message.length >= 4 ? message.readUInt16BE(2) : '?'}`);
      else bump(report.tftpReplies, opcode === TftpOpcode.Data ? 'data' : opcode === TftpOpcode.Oack ? 'oack' : `opcode-${opcode}`);
      if (message.includes(lab.canary)) report.violations.push(`TFTP DATA carried the canary from outside the root (to ${remote.address}:${remote.port})`);
      // A fuzz client abandons what it started, mostly politely (ERROR), sometimes by silence (the server's timeout path).
      if ((opcode === TftpOpcode.Data || opcode === TftpOpcode.Oack) && !rng.chance(silentAbandon)) socket.send(errorPacket(0, 'fuzz client abandons'), remote.port, remote.address);
    });
  }
  const listenerCount = Math.round(count * 0.7);
  const transferCount = count - listenerCount;
  for (let i = 0; i < listenerCount; i++) {
    const packet = nextTftpListenerPacket(rng, realNames);
    rng.pick(sockets).send(packet.bytes, tftpPort, '127.0.0.1');
    bump(report.sent.tftpListener, packet.kind);
    await pacer.tick();
  }
  // Transfer ports: spray a live transfer's TID from strangers while it runs.
  const victim: VictimState = { stop: false, port: null };
  const victims = runVictims(lab, tftpPort, victim, report);
  let sentToTransfers = 0;
  const deadline = Date.now() + 120_000;
  while (sentToTransfers < transferCount && Date.now() < deadline) {
    if (victim.port === null) { await sleep(5); continue; }
    const packet = nextTftpTransferPacket(rng);
    rng.pick(sockets).send(packet.bytes, victim.port, '127.0.0.1');
    bump(report.sent.tftpTransfer, packet.kind);
    sentToTransfers++;
    await pacer.tick();
  }
  victim.stop = true;
  await victims;
  await sleep(300);
  for (const socket of sockets) socket.close();
}

interface RawResponse {
  status: number | null;
  body: Buffer;
}

function sendRawHttp(port: number, bytes: Buffer, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const data = Buffer.concat(chunks);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(data.subarray(0, 20).toString('latin1'));
      resolve({ status: match ? Number(match[1]) : null, body: data });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('connect', () => socket.end(bytes));
  });
}

async function fuzzHttp(rng: Rng, lab: LabFiles, httpPort: number, count: number, report: FuzzReport): Promise<void> {
  const attacks: HttpAttack[] = httpAttacks({ host: `127.0.0.1:${httpPort}`, tree: lab.treeName, treeFile: 'big.bin', tftpFile: 'pxelinux.0', hostName: 'node01' });
  const check = (name: string, expect: HttpAttack['expect'], response: RawResponse): void => {
    bump(report.httpStatuses, response.status === null ? 'closed' : String(response.status));
    if (response.body.includes(lab.canary)) report.violations.push(`HTTP ${name}: response carried the canary from outside the roots`);
    if (expect === 'refuse' && response.status !== null && response.status >= 200 && response.status < 300) {
      report.violations.push(`HTTP ${name}: expected a refusal, got ${response.status}`);
    }
  };
  let sent = 0;
  for (const attack of attacks) {
    if (sent >= count) break;
    check(attack.name, attack.expect, await sendRawHttp(httpPort, attack.request));
    bump(report.sent.http, 'listed-once');
    sent++;
  }
  const concurrency = 16;
  const worker = async (): Promise<void> => {
    while (sent < count) {
      sent++;
      const request = nextHttpFuzzRequest(rng, attacks);
      bump(report.sent.http, request.kind);
      check(`fuzz ${request.kind}`, 'any', await sendRawHttp(httpPort, request.bytes));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

// ---- checks ----------------------------------------------------------------

async function realClientChecks(lab: LabFiles, tftpPort: number, httpPort: number, clientNamespace: string | null): Promise<Check[]> {
  const checks: Check[] = [];
  const out = join(lab.dir, 'fetched.bin');
  if (hasProgram('atftp')) {
    rmSync(out, { force: true });
    const run = spawnSync('atftp', ['--option', 'blksize 1468', '-g', '-r', 'pxelinux.0', '-l', out, '127.0.0.1', String(tftpPort)], { encoding: 'utf8', timeout: 30_000 });
    let ok = false;
    try { ok = run.status === 0 && sha256(readFileSync(out)) === lab.files['pxelinux.0']!.sha256; } catch { /* no file */ }
    checks.push({ name: 'atftp fetches pxelinux.0 exactly', ok, detail: ok ? 'sha256 matches' : `exit ${run.status}: ${run.stderr?.slice(0, 200)}` });
  } else {
    checks.push({ name: 'atftp fetches pxelinux.0 exactly', ok: false, detail: 'atftp not installed' });
  }
  const curl = (path: string, expected: string, label: string): void => {
    rmSync(out, { force: true });
    const run = spawnSync('curl', ['-sS', '--max-time', '30', '-o', out, '-w', '%{http_code}', `http://127.0.0.1:${httpPort}${path}`], { encoding: 'utf8' });
    let ok = false;
    try { ok = run.status === 0 && run.stdout === '200' && sha256(readFileSync(out)) === expected; } catch { /* no file */ }
    checks.push({ name: label, ok, detail: ok ? 'sha256 matches' : `curl exit ${run.status}, HTTP ${run.stdout}: ${run.stderr?.slice(0, 200)}` });
  };
  curl(`/trees/${lab.treeName}/big.bin`, lab.files['tree:big.bin']!.sha256, 'curl fetches a tree file exactly');
  curl('/tftp/pxelinux.0', lab.files['pxelinux.0']!.sha256, 'curl fetches /tftp/pxelinux.0 exactly');
  if (clientNamespace) {
    const script = join(lab.dir, 'udhcpc.sh');
    writeFileSync(script, '#!/bin/sh\n[ "$1" = bound ] && echo "LEASE $ip"\nexit 0\n', { mode: 0o755 });
    const run = spawnSync('ip', ['netns', 'exec', clientNamespace, 'udhcpc', '-i', 'nbc0', '-n', '-q', '-f', '-t', '6', '-T', '1', '-A', '1', '-s', script], { encoding: 'utf8', timeout: 60_000 });
    const lease = /LEASE (\d+\.\d+\.\d+\.\d+)/.exec(run.stdout ?? '');
    const ok = lease !== null && lease[1]!.startsWith(`${NETNS_SUBNET_PREFIX}.`);
    checks.push({ name: 'udhcpc obtains a lease', ok, detail: ok ? `lease ${lease![1]}` : `exit ${run.status}: ${(run.stdout ?? '').slice(-200)} ${(run.stderr ?? '').slice(-200)}` });
  }
  return checks;
}

/** Drop/refusal counters by service and reason, from whatever series the services export with a `reason` label. */
function dropCounters(samples: MetricSample[]): { service: string; reason: string; count: number }[] {
  return samples
    .filter((sample) => /drop|malformed|refused|ignored|rejected|invalid/.test(sample.name) && sample.value > 0)
    .map((sample) => ({
      service: /netboot_(dhcp|tftp|http)/.exec(sample.name)?.[1] ?? 'other',
      reason: `${sample.name}${Object.keys(sample.labels).length ? JSON.stringify(sample.labels) : ''}`,
      count: sample.value,
    }));
}

/** What a service's /api/status numbers say it received and accounted for: DHCP `received`; TFTP requests started or refused plus packets counted as malformed (by reason, unknown TIDs included). */
function countedBy(status: ApiStatus, service: 'dhcp' | 'tftp'): number {
  const numbers = (status.services[service]?.status ?? {}) as Record<string, unknown>;
  const value = (key: string): number => (typeof numbers[key] === 'number' ? (numbers[key] as number) : 0);
  if (service === 'dhcp') return value('received');
  const malformed = Object.values((numbers.malformed ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);
  // duplicates: RRQs repeated from a client port whose transfer runs (ignored, counted).
  return value('started') + value('refused') + value('duplicates') + malformed;
}

async function waitQuiet(baseUrl: string, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    try {
      const result = await httpRequest(`${baseUrl}/api/transfers`, { timeoutMs: 3000 });
      const active = (JSON.parse(result.body.toString()) as { transfers: unknown[] }).transfers.length;
      if (active === 0) return;
    } catch { /* retry */ }
    await sleep(500);
  }
}

// ---- the run ---------------------------------------------------------------

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const rng = new Rng(options.seed);
  const lab = makeLabFiles({ bigBytes: 2 * 1024 * 1024 });
  const inNamespace = options.clientNamespace !== null;
  const tftpPort = inNamespace ? 69 : 20_000 + (process.pid % 10_000);
  const httpPort = inNamespace ? 8080 : 30_000 + (process.pid % 10_000);
  const token = `fuzz-token-${rng.u32().toString(16)}${rng.u32().toString(16)}`;
  lab.writeConfig({
    serverAddress: inNamespace ? SERVER_ADDRESS : '127.0.0.1',
    dhcp: inNamespace
      ? { mode: 'authoritative', subnet: `${NETNS_SUBNET_PREFIX}.0/24`, pool: `${NETNS_SUBNET_PREFIX}.100-${NETNS_SUBNET_PREFIX}.250`, leaseTime: '10m', offerHold: '5s' }
      : { mode: 'off', subnet: '127.0.0.0/8', pool: '127.0.10.100-127.0.10.199' },
    tftp: { listen: inNamespace ? '0.0.0.0' : '127.0.0.1', port: tftpPort, timeout: 1, retries: 3 },
    http: { listen: '127.0.0.1', port: httpPort, apiToken: token, requestTimeout: '10s', keepAliveTimeout: '5s' },
  });
  const report: FuzzReport = {
    seed: options.seed,
    packetsRequested: options.packets,
    sent: { dhcp: {}, dhcpProxy: 0, tftpListener: {}, tftpTransfer: {}, http: {} },
    totals: { dhcp: 0, tftp: 0, http: 0, all: 0 },
    kernelUdpDrops: 0,
    closedPortPackets: 0,
    tftpReplies: {},
    httpStatuses: {},
    victimTransfers: { started: 0, completed: 0, exact: 0, failed: 0 },
    violations: [],
    warmupPackets: 0,
    rss: { coldBytes: 0, baselineBytes: 0, peakBytes: 0, finalBytes: 0, afterPhaseBytes: {} },
    memory: {},
    drops: [],
    accounting: {},
    checks: [],
    durationS: 0,
    phaseS: {},
    log: { byLevel: {}, topWarnings: [] },
    ok: false,
  };
  const netboot = await NetbootProcess.start({ configPath: lab.configPath, logFile: join(lab.dir, 'netboot.log') });
  // Interrupted (Ctrl-C, a CI timeout): stop the netboot this run started, then go.
  const interrupted = (): void => { void netboot.stop(2000).finally(() => process.exit(130)); };
  process.once('SIGTERM', interrupted);
  process.once('SIGINT', interrupted);
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  try {
    // Warm up with the real clients and a first share of the same hostile mix (V8 grows its heap to a working size once,
    // then keeps it), and take the memory baseline after that: a leak shows as growth past it, a one-time high-water mark does not.
    const warm = await realClientChecks(lab, tftpPort, httpPort, options.clientNamespace);
    for (const check of warm) if (!check.ok) report.checks.push({ ...check, name: `before fuzzing: ${check.name}` });
    report.rss.coldBytes = netboot.rssBytes();
    const warmupPackets = Math.min(20_000, Math.round(options.packets * 0.2));
    const warmRng = new Rng(options.seed ^ 0x5a5a5a5a);
    const warmReport = structuredClone(report);
    if (inNamespace) await fuzzDhcp(warmRng, Math.round(warmupPackets * 0.45), warmReport, new Pacer(options.burst));
    await fuzzTftp(warmRng, lab, tftpPort, Math.round(warmupPackets * 0.45), warmReport, new Pacer(options.burst), options.silentAbandon);
    await fuzzHttp(warmRng, lab, httpPort, Math.round(warmupPackets * 0.1), warmReport);
    report.warmupPackets = warmupPackets;
    report.violations.push(...warmReport.violations);
    await waitQuiet(baseUrl, 60_000);
    await sleep(2000);
    const statusBefore: ApiStatus = await fetchStatus(baseUrl);
    report.rss.baselineBytes = netboot.rssBytes();
    report.memory['baseline'] = await memorySnapshot(netboot, baseUrl);
    report.rss.peakBytes = report.rss.baselineBytes;
    const udpBefore = udpCounters();
    const sampler = setInterval(() => {
      try { report.rss.peakBytes = Math.max(report.rss.peakBytes, netboot.rssBytes()); } catch { /* exited: caught below */ }
    }, 250);

    const pacer = new Pacer(options.burst);
    const dhcpCount = inNamespace ? Math.round(options.packets * 0.45) : 0;
    const httpCount = Math.round(options.packets * (inNamespace ? 0.1 : 0.2));
    const tftpCount = options.packets - dhcpCount - httpCount;
    const timed = async (name: string, phase: () => Promise<void>): Promise<void> => {
      const at = Date.now();
      await phase();
      report.phaseS[name] = (Date.now() - at) / 1000;
      report.rss.afterPhaseBytes[name] = netboot.alive ? netboot.rssBytes() : 0;
      if (netboot.alive) report.memory[name] = await memorySnapshot(netboot, baseUrl);
    };
    if (dhcpCount > 0) await timed('dhcp', () => fuzzDhcp(rng, dhcpCount, report, pacer));
    await timed('tftp', () => fuzzTftp(rng, lab, tftpPort, tftpCount, report, pacer, options.silentAbandon));
    await timed('http', () => fuzzHttp(rng, lab, httpPort, httpCount, report));
    clearInterval(sampler);

    const sum = (counter: Record<string, number>): number => Object.values(counter).reduce((a, b) => a + b, 0);
    report.totals.dhcp = sum(report.sent.dhcp) + report.sent.dhcpProxy;
    report.totals.tftp = sum(report.sent.tftpListener) + sum(report.sent.tftpTransfer);
    report.totals.http = sum(report.sent.http);
    report.totals.all = report.totals.dhcp + report.totals.tftp + report.totals.http;

    report.checks.push({ name: 'process alive after fuzzing', ok: netboot.alive, detail: netboot.alive ? `pid ${netboot.pid}` : `exited: ${netboot.rawOutput.slice(-500)}` });
    if (!netboot.alive) return report;
    await waitQuiet(baseUrl, 60_000);
    await sleep(2000);
    const udpAfter = udpCounters();
    report.kernelUdpDrops = (udpAfter.RcvbufErrors ?? 0) - (udpBefore.RcvbufErrors ?? 0);
    report.closedPortPackets = (udpAfter.NoPorts ?? 0) - (udpBefore.NoPorts ?? 0);

    const statusAfter = await fetchStatus(baseUrl);
    const restarts: string[] = [];
    for (const [name, service] of Object.entries(statusAfter.services)) {
      const before = statusBefore.services[name]?.restarts ?? 0;
      if (service.restarts !== before || service.state !== 'ready') restarts.push(`${name}: state ${service.state}, restarts ${before} → ${service.restarts}${service.lastError ? ` (${service.lastError})` : ''}`);
    }
    report.checks.push({ name: 'no service restarted', ok: restarts.length === 0, detail: restarts.join('; ') || Object.keys(statusAfter.services).join(', ') + ' ready, 0 restarts' });

    const after = await realClientChecks(lab, tftpPort, httpPort, options.clientNamespace);
    report.checks.push(...after.map((check) => ({ ...check, name: `after fuzzing: ${check.name}` })));

    // Memory: give the allocator a moment after the last request, then compare with the warmed-up baseline.
    let finalRss = netboot.rssBytes();
    for (let i = 0; i < options.settleS && finalRss > report.rss.baselineBytes * (1 + RSS_TOLERANCE); i++) {
      await sleep(1000);
      finalRss = netboot.rssBytes();
    }
    report.rss.finalBytes = finalRss;
    report.memory['final'] = await memorySnapshot(netboot, baseUrl);
    const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;
    report.checks.push({
      name: 'RSS back within 10% of the warmed-up baseline',
      ok: finalRss <= report.rss.baselineBytes * (1 + RSS_TOLERANCE),
      detail: `cold ${mib(report.rss.coldBytes)}, after ${report.warmupPackets} warm-up packets ${mib(report.rss.baselineBytes)}, peak ${mib(report.rss.peakBytes)}, final ${mib(finalRss)}; after each phase ${Object.entries(report.rss.afterPhaseBytes).map(([phase, bytes]) => `${phase} ${mib(bytes)}`).join(', ')}`,
    });

    const metricsAfter = await fetchMetrics(baseUrl);
    report.drops = dropCounters(metricsAfter);
    const delta = (service: 'dhcp' | 'tftp'): number => countedBy(statusAfter, service) - countedBy(statusBefore, service);
    // The fuzz packets plus the real clients' own packets after the baseline (a few dozen): netboot must have counted at least what was sent, less what the kernel dropped before netboot could see it.
    if (inNamespace) report.accounting.dhcp = { sent: report.totals.dhcp, counted: delta('dhcp'), kernelDropped: report.kernelUdpDrops + report.closedPortPackets };
    // Closed-port refusals beyond the packets sent to 4011 were TFTP packets that reached a transfer port just after it closed.
    report.accounting.tftp = { sent: report.totals.tftp, counted: delta('tftp'), kernelDropped: report.kernelUdpDrops + Math.max(0, report.closedPortPackets - report.sent.dhcpProxy) };
    for (const [service, numbers] of Object.entries(report.accounting)) {
      report.checks.push({
        name: `drop counters account for every ${service.toUpperCase()} packet`,
        ok: numbers.counted + numbers.kernelDropped >= numbers.sent,
        detail: `sent ${numbers.sent}; counted by netboot (answered, or dropped with a reason) ${numbers.counted}; dropped by the kernel before netboot saw them ${numbers.kernelDropped} (buffer ${report.kernelUdpDrops}, closed port ${report.closedPortPackets}); unaccounted ${Math.max(0, numbers.sent - numbers.counted - numbers.kernelDropped)}`,
      });
    }
    report.checks.push({ name: 'drops are counted by reason', ok: report.drops.length > 0, detail: `${report.drops.length} reasons: ${report.drops.slice(0, 6).map((drop) => `${drop.reason}=${drop.count}`).join(', ')}…` });
    report.checks.push({ name: 'nothing served outside a root; every refusal held', ok: report.violations.length === 0, detail: report.violations.slice(0, 10).join('; ') || 'no canary in any response, no hostile request answered 2xx' });
    report.checks.push({
      name: 'transfers sprayed by strangers complete exactly',
      ok: report.victimTransfers.completed > 0 && report.victimTransfers.exact === report.victimTransfers.completed && report.victimTransfers.failed === 0,
      detail: `${report.victimTransfers.started} started, ${report.victimTransfers.completed} completed (${report.victimTransfers.exact} exact), ${report.victimTransfers.failed} failed`,
    });
    const levels: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
    const frequent = new Map<string, number>();
    for (const line of netboot.lines) {
      const level = levels[line.level ?? 0] ?? 'other';
      bump(report.log.byLevel, level);
      if ((line.level ?? 0) >= 40) frequent.set(`${level}\u0000${String(line.msg).slice(0, 100)}`, (frequent.get(`${level}\u0000${String(line.msg).slice(0, 100)}`) ?? 0) + 1);
    }
    report.log.topWarnings = [...frequent].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([key, count]) => ({ level: key.split('\u0000')[0]!, msg: key.split('\u0000')[1]!, count }));
    const tokenLogged = netboot.rawOutput.includes(token) || readFileSafe(join(lab.dir, 'netboot.log')).includes(token);
    report.checks.push({ name: 'API token never logged', ok: !tokenLogged, detail: tokenLogged ? 'the token appears in netboot output' : 'not in any log line' });
  } finally {
    report.durationS = Math.round((Date.now() - started) / 100) / 10;
    report.ok = report.checks.length > 0 && report.checks.every((check) => check.ok);
    if (!report.ok || options.keep) process.stderr.write(`fuzz: scratch folder kept at ${lab.dir} (netboot.log inside)\n`);
    await netboot.stop();
    if (report.ok && !options.keep) rmSync(lab.dir, { recursive: true, force: true });
  }
  return report;
}

function sumValues(counter: Record<string, number>): number {
  return Object.values(counter).reduce((a, b) => a + b, 0);
}

function readFileSafe(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

export function formatReport(report: FuzzReport): string {
  const lines = [
    `## netboot fuzz: ${report.totals.all} packets/requests, seed ${report.seed}, ${report.durationS} s`,
    '',
    `- DHCP: ${report.totals.dhcp} (to :67 by kind ${JSON.stringify(report.sent.dhcp)}, to :4011 ${report.sent.dhcpProxy})`,
    `- TFTP: ${report.totals.tftp} (port 69 ${JSON.stringify(report.sent.tftpListener)}; transfer ports ${JSON.stringify(report.sent.tftpTransfer)})`,
    `- HTTP: ${report.totals.http} requests ${JSON.stringify(report.sent.http)}; statuses ${JSON.stringify(report.httpStatuses)}`,
    `- TFTP replies to fuzz sockets: ${JSON.stringify(report.tftpReplies)}`,
    `- kernel UDP receive-buffer drops: ${report.kernelUdpDrops}; phases (s): ${JSON.stringify(report.phaseS)}`,
    `- netboot log lines by level: ${JSON.stringify(report.log.byLevel)}; most frequent warn/error: ${report.log.topWarnings.map((each) => `${each.count}× ${each.level} "${each.msg}"`).join('; ')}`,
    `- drop counters: ${report.drops.map((drop) => `${drop.reason}=${drop.count}`).join(', ') || 'none'}`,
    '',
    '| check | result | detail |',
    '| --- | --- | --- |',
    ...report.checks.map((check) => `| ${check.name} | ${check.ok ? 'ok' : 'FAIL'} | ${check.detail.replace(/\|/g, '/').replace(/\n/g, ' ')} |`),
    '',
    report.ok ? 'RESULT: ok' : 'RESULT: FAIL',
  ];
  return `${lines.join('\n')}\n`;
}

// ---- command line ----------------------------------------------------------

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

/** Two namespaces joined by a veth pair; netboot and the fuzzer run in the server one, udhcpc in the client one. No route out. */
function createNamespaces(): { server: string; client: string; destroy: () => void } {
  const server = `nbt-rel-fz-s-${process.pid}`;
  const client = `nbt-rel-fz-c-${process.pid}`;
  const destroy = (): void => {
    for (const name of [server, client]) { try { ip('netns', 'del', name); } catch { /* gone */ } }
  };
  try {
    ip('netns', 'add', server);
    ip('netns', 'add', client);
    for (const name of [server, client]) ip('-n', name, 'link', 'set', 'lo', 'up');
    ip('-n', server, 'link', 'add', 'nbs0', 'type', 'veth', 'peer', 'name', 'nbc0', 'netns', client);
    ip('-n', server, 'addr', 'add', `${SERVER_ADDRESS}/24`, 'dev', 'nbs0');
    ip('-n', server, 'link', 'set', 'nbs0', 'up');
    ip('-n', client, 'link', 'set', 'nbc0', 'up');
  } catch (error) {
    destroy();
    throw error;
  }
  return { server, client, destroy };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      packets: { type: 'string', default: '100000' },
      seed: { type: 'string' },
      json: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'no-netns': { type: 'boolean', default: false },
      burst: { type: 'string', default: '16' },
      'silent-abandon': { type: 'string', default: '0.1' },
      'settle-s': { type: 'string', default: '30' },
      'client-netns': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write('usage: node dist/tools/fuzz.js [--packets N] [--seed N] [--json FILE] [--keep] [--no-netns] [--burst N]\n');
    return 0;
  }
  const packets = Number(values.packets);
  if (!Number.isInteger(packets) || packets < 100) { process.stderr.write('fuzz: --packets must be a whole number >= 100\n'); return 2; }
  const seed = values.seed === undefined ? (Math.random() * 0x7fffffff) >>> 0 : Number(values.seed);
  const burst = Math.max(1, Number(values.burst));
  const isRoot = process.getuid?.() === 0;

  if (values['client-netns'] === undefined && isRoot && !values['no-netns']) {
    // Re-run this tool inside a fresh server namespace, so DHCP replies can only ever reach our own client namespace.
    const namespaces = createNamespaces();
    const self = fileURLToPath(import.meta.url);
    const args = [self, '--packets', String(packets), '--seed', String(seed), '--burst', String(burst), '--client-netns', namespaces.client];
    if (values.json) args.push('--json', values.json);
    if (values.keep) args.push('--keep');
    args.push('--silent-abandon', String(values['silent-abandon']), '--settle-s', String(values['settle-s']));
    const child = spawn('ip', ['netns', 'exec', namespaces.server, process.execPath, ...args], { stdio: 'inherit' });
    const stopChild = (): void => { child.kill('SIGTERM'); };
    process.once('SIGINT', stopChild);
    process.once('SIGTERM', stopChild);
    const code = await new Promise<number>((resolve) => child.once('exit', (exitCode) => resolve(exitCode ?? 1)));
    namespaces.destroy();
    return code;
  }
  if (!isRoot || values['no-netns']) process.stderr.write('fuzz: not root or --no-netns: DHCP is off and not fuzzed (only TFTP and HTTP on loopback)\n');
  const report = await runFuzz({ packets, seed, clientNamespace: values['client-netns'] ?? null, json: values.json ?? null, keep: values.keep, burst, silentAbandon: Number(values['silent-abandon']), settleS: Number(values['settle-s']) });
  const text = formatReport(report);
  process.stdout.write(text);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  return report.ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((code) => process.exit(code), (error: unknown) => {
    process.stderr.write(`fuzz: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}

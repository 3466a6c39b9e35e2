#!/usr/bin/env node
/**
 * TFTP benchmark: netboot's TFTP service side by side with tftpd-hpa
 * (in.tftpd), atftpd and dnsmasq, all on 127.0.0.1, all serving the same
 * folder, all driven by the same client (atftp).
 *
 *   node bench/tftp.mjs            (after `npm run build`; a few minutes)
 *
 * Environment:
 *   TFTP_BENCH_RUNS=9        runs per single-client case (median reported; default 5)
 *   TFTP_BENCH_STORM_RUNS=3  runs per storm size (default 1)
 *   TFTP_BENCH_STORMS=50,200 concurrent clients per storm
 *   TFTP_BENCH_FILE_MB=32    file size for every case
 *   TFTP_BENCH_SERVERS=netboot,tftpd-hpa,atftpd,dnsmasq
 *   BENCH_NODE_FLAGS='…'     Node flags for netboot instead of src/runtime/node-flags.ts's ('' for none)
 *   TFTP_BENCH_PIN=0         single-client runs unpinned (default: server on CPU 0, client on CPU 1)
 *   ATFTPD=/path/to/atftpd   (default: /tmp/atftpd-x/root/usr/sbin/atftpd, or
 *                             fetched with `apt-get download atftpd` + `dpkg -x`)
 *
 * Measures: single client MB/s (lock-step blksize 1468; windowsize 16 and
 * 64), and boot storms of N concurrent clients: aggregate MB/s, failures,
 * server CPU seconds and peak RSS (summed over the server's process tree,
 * read from /proc).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const RUNS = Number(process.env.TFTP_BENCH_RUNS ?? 5);
const STORM_RUNS = Number(process.env.TFTP_BENCH_STORM_RUNS ?? 1);
const STORMS = (process.env.TFTP_BENCH_STORMS ?? '50,200').split(',').map(Number).filter((n) => n > 0);
const FILE_MB = Number(process.env.TFTP_BENCH_FILE_MB ?? 32);
const FILE_BYTES = FILE_MB * 1024 * 1024;
/**
 * Single-client runs pin the server to CPU 0 and the client to CPU 1. Unpinned,
 * the kernel puts a lock-step pair on one CPU in some runs and on two in
 * others, and on this VM that alone moves every server's lock-step rate
 * about 3x (tftpd-hpa 26-29 vs 78-89 MB/s, netboot alike): a median of a
 * few runs then compares luck, not servers. Two CPUs is the realistic case
 * (a booting machine is another host, its ACK arrives by interrupt).
 * Storms stay unpinned: there every server has all the cores.
 */
const PIN = process.env.TFTP_BENCH_PIN !== '0' && cpus().length >= 2 && hasProgram('taskset');
const SERVER_CPU = '0';
const CLIENT_CPU = '1';
const WANTED = (process.env.TFTP_BENCH_SERVERS ?? 'netboot,tftpd-hpa,atftpd,dnsmasq').split(',');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const PAGE = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;

if (!existsSync(join(repo, 'dist', 'tftp', 'service.js'))) {
  console.error('bench/tftp.mjs: build first (npm run build)');
  process.exit(2);
}
// netboot runs with the V8 flags its executable uses (src/runtime/node-flags.ts), so this measures what admins run.
const NODE_FLAGS = (await import(join(repo, 'dist', 'runtime', 'node-flags.js'))).benchNodeFlags();
if (!hasProgram('atftp')) {
  console.error('bench/tftp.mjs: needs the atftp client (apt-get install atftp)');
  process.exit(2);
}

function hasProgram(name) {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// ---------------------------------------------------------------- /proc

function readStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is state (field 3); utime is field 14 → index 11.
    return { ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]), cutime: Number(fields[13]), cstime: Number(fields[14]), rssPages: Number(fields[21]) };
  } catch {
    return null;
  }
}

/** The process and its descendants, through /proc/<pid>/task/<tid>/children (cheap, unlike a full /proc scan). */
function processTree(rootPid) {
  const tree = [];
  const queue = [rootPid];
  while (queue.length) {
    const pid = queue.shift();
    const stat = readStat(pid);
    if (!stat) continue;
    tree.push({ pid, ...stat });
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (child) queue.push(Number(child));
      } catch {
        // gone
      }
    }
  }
  return tree;
}

/**
 * Follows a server's process tree while it works: CPU of the root plus the
 * last reading of every child seen (tftpd-hpa forks a child per transfer and
 * may never wait for it, so cutime alone misses them), and the peak of the
 * summed RSS.
 */
function treeMonitor(rootPid) {
  const childTicks = new Map();
  let rootTicks = 0;
  let reapedTicks = 0;
  let peakRss = 0;
  const sample = () => {
    let rss = 0;
    for (const p of processTree(rootPid)) {
      rss += p.rssPages * PAGE;
      if (p.pid === rootPid) {
        rootTicks = p.utime + p.stime;
        reapedTicks = p.cutime + p.cstime;
      } else {
        childTicks.set(p.pid, p.utime + p.stime);
      }
    }
    peakRss = Math.max(peakRss, rss);
  };
  sample();
  const rootStart = rootTicks;
  const reapedStart = reapedTicks;
  const childStart = new Map(childTicks);
  return {
    sample,
    cpuSeconds() {
      let children = 0;
      for (const [pid, ticks] of childTicks) children += ticks - (childStart.get(pid) ?? 0);
      // Reaped children show up in cutime too: count whichever is larger, never both.
      return (rootTicks - rootStart + Math.max(reapedTicks - reapedStart, children)) / CLK_TCK;
    },
    get peakRssBytes() {
      return peakRss;
    },
  };
}

// ---------------------------------------------------------------- servers

function freePort() {
  // A port nobody listens on right now (bench-only; races are harmless here).
  return 20000 + Math.floor(Math.random() * 20000);
}

function atftpdPath() {
  if (process.env.ATFTPD) return process.env.ATFTPD;
  const scratch = '/tmp/atftpd-x';
  const path = join(scratch, 'root', 'usr', 'sbin', 'atftpd');
  if (existsSync(path)) return path;
  try {
    mkdirSync(scratch, { recursive: true });
    execFileSync('apt-get', ['download', 'atftpd'], { cwd: scratch, stdio: 'pipe' });
    const deb = readdirSync(scratch).find((name) => name.startsWith('atftpd_') && name.endsWith('.deb'));
    execFileSync('dpkg', ['-x', join(scratch, deb), join(scratch, 'root')], { stdio: 'pipe' });
    return existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

function udpPortInUse(port) {
  try {
    return execFileSync('ss', ['-Hlun', `sport = :${port}`], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}

const NETBOOT_RUNNER = `
import { loadConfigText } from ${JSON.stringify(join(repo, 'dist', 'config', 'load.js'))};
import { createTftpService } from ${JSON.stringify(join(repo, 'dist', 'tftp', 'service.js'))};
import { EventLog } from ${JSON.stringify(join(repo, 'dist', 'runtime', 'events.js'))};
import { Metrics } from ${JSON.stringify(join(repo, 'dist', 'runtime', 'metrics.js'))};
import { TransferRegistry } from ${JSON.stringify(join(repo, 'dist', 'runtime', 'transfers.js'))};
import { EMPTY_LEASE_VIEW } from ${JSON.stringify(join(repo, 'dist', 'runtime', 'lease-view.js'))};
import { createLogger } from ${JSON.stringify(join(repo, 'dist', 'log', 'logger.js'))};
const yaml = \`server: { address: 127.0.0.1 }
dhcp: { mode: off }
tftp: { port: \${process.env.PORT}, listen: 127.0.0.1, root: \${process.env.ROOT}, maxTransfers: 1000, maxTransfersPerClient: 1000 }
http: { enabled: false }
\`;
const loaded = loadConfigText(yaml, process.env.ROOT + '/../lab.yaml', { allowMissing: true });
if (!loaded.ok) { console.error(JSON.stringify(loaded.issues)); process.exit(1); }
const context = { config: () => loaded.config, log: createLogger({ level: 'warn', pretty: false }), events: new EventLog(), metrics: new Metrics(),
  transfers: new TransferRegistry(), bootOnce: null, bootState: { isOnceDone: () => false }, leases: () => EMPTY_LEASE_VIEW,
  registerLeaseView() {}, fail(error) { console.error(error); } };
const service = createTftpService(context);
await service.start();
process.stdout.write('READY\\n');
process.on('SIGTERM', () => service.stop(0).then(() => process.exit(0)));
`;

function serverDefinitions(root) {
  const atftpd = atftpdPath();
  return [
    {
      name: 'netboot',
      available: () => null,
      start: (port) => ({ command: process.execPath, args: [...NODE_FLAGS, '--input-type=module', '-e', NETBOOT_RUNNER], env: { ...process.env, PORT: String(port), ROOT: root }, ready: 'READY' }),
    },
    {
      name: 'tftpd-hpa',
      available: () => (hasProgram('in.tftpd') ? null : 'in.tftpd not installed (apt-get install tftpd-hpa)'),
      start: (port) => ({ command: 'in.tftpd', args: ['-L', '-s', root, '-a', `127.0.0.1:${port}`] }),
    },
    {
      name: 'atftpd',
      available: () => (atftpd ? null : 'atftpd not found (apt-get download atftpd; dpkg -x it; set ATFTPD)'),
      start: (port) => ({ command: atftpd, args: ['--daemon', '--no-fork', '--port', String(port), '--bind-address', '127.0.0.1', '--maxthread', '1000', '--logfile', '/dev/null', root] }),
    },
    {
      name: 'dnsmasq',
      // dnsmasq's TFTP port is compiled in (69); --port=0 turns DNS off and no dhcp-range means no DHCP.
      available: () => (!hasProgram('dnsmasq') ? 'dnsmasq not installed' : udpPortInUse(69) ? 'udp port 69 is in use on this machine' : null),
      fixedPort: 69,
      start: () => ({ command: 'dnsmasq', args: ['--keep-in-foreground', '--port=0', '--enable-tftp', `--tftp-root=${root}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--tftp-max=1000', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--pid-file=', '--user=root', '--log-facility=/dev/null'] }),
    },
  ];
}

/** `cpu`: pin the server (and every thread and child it makes) to that CPU. */
async function startServer(definition, cpu = null) {
  const port = definition.fixedPort ?? freePort();
  const spec = definition.start(port);
  const [command, args] = cpu === null ? [spec.command, spec.args] : ['taskset', ['-c', cpu, spec.command, ...spec.args]];
  const child = spawn(command, args, { env: spec.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${definition.name} exited: ${output.trim()}`);
    if (spec.ready ? output.includes(spec.ready) : udpPortInUse(port)) break;
    if (Date.now() > deadline) throw new Error(`${definition.name} did not start: ${output.trim()}`);
    await sleep(50);
  }
  return {
    name: definition.name,
    port,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      for (let i = 0; i < 40 && child.exitCode === null && child.signalCode === null; i++) await sleep(50);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

// ---------------------------------------------------------------- clients

function atftpFetch(port, options, cpu = null) {
  return new Promise((resolve) => {
    const atftp = ['atftp', ...options.flatMap((option) => ['--option', option]), '-g', '-r', 'big.bin', '-l', '/dev/null', '127.0.0.1', String(port)];
    const [command, ...args] = cpu === null ? atftp : ['taskset', '-c', cpu, ...atftp];
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const failed = code !== 0 || /error|abort|timeout/i.test(stderr);
      resolve({ ok: !failed, seconds, stderr });
    });
  });
}

/** One single-client fetch: MB/s, or null when it failed. */
async function singleFetch(server, options) {
  const result = await atftpFetch(server.port, options, PIN ? CLIENT_CPU : null);
  return result.ok ? FILE_BYTES / 1e6 / result.seconds : null;
}

async function storm(server, clients) {
  const monitor = treeMonitor(server.pid);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      monitor.sample();
      await sleep(50);
    }
  })();
  const started = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: clients }, () => atftpFetch(server.port, ['blksize 1468'])));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  sampling = false;
  await sampler;
  await sleep(200); // let forking servers reap their children so cutime counts them
  monitor.sample();
  const ok = results.filter((r) => r.ok).length;
  return { mbps: (ok * FILE_BYTES) / 1e6 / seconds, failures: clients - ok, cpuSeconds: monitor.cpuSeconds(), peakRssMB: monitor.peakRssBytes / 1024 / 1024, seconds };
}

// ---------------------------------------------------------------- main

const scratch = mkdtempSync(join(tmpdir(), `netboot-bench-tftp-${process.pid}-`));
const root = join(scratch, 'root');
mkdirSync(root);
// atftpd drops to `nobody`: the folder and file must be world-readable.
chmodSync(scratch, 0o755);
chmodSync(root, 0o755);
writeFileSync(join(root, 'big.bin'), randomFillSync(Buffer.allocUnsafe(FILE_BYTES)), { mode: 0o644 });

const definitions = serverDefinitions(root).filter((d) => WANTED.includes(d.name));
const skipped = [];
const servers = [];
for (const definition of definitions) {
  const reason = definition.available();
  if (reason) skipped.push(`${definition.name}: ${reason}`);
  else servers.push(definition);
}

const single = new Map(); // server → case → result
const storms = new Map(); // server → clients → result
const CASES = [
  { label: 'lock-step, blksize 1468', options: ['blksize 1468'] },
  { label: 'windowsize 16, blksize 1468', options: ['blksize 1468', 'windowsize 16'] },
  { label: 'windowsize 64, blksize 1468', options: ['blksize 1468', 'windowsize 64'] },
];

const benchStarted = Date.now();
const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
try {
  // Single-client cases: servers interleaved run by run, so background noise hits all alike.
  const running = [];
  for (const definition of servers) {
    try {
      running.push(await startServer(definition, PIN ? SERVER_CPU : null));
    } catch (error) {
      skipped.push(`${definition.name}: ${error.message}`);
    }
  }
  for (const server of running) {
    single.set(server.name, new Map());
    await atftpFetch(server.port, ['blksize 1468']); // warm-up: page cache, netboot's file cache
  }
  // Run by run, server by server: background load and placement drift hit every server alike.
  for (const testCase of CASES) {
    const rates = new Map(running.map((server) => [server.name, { all: [], failures: 0 }]));
    for (let run = 0; run < RUNS; run++) {
      for (const server of running) {
        const mbps = await singleFetch(server, testCase.options);
        const seen = rates.get(server.name);
        if (mbps === null) seen.failures++;
        else seen.all.push(mbps);
      }
    }
    for (const server of running) {
      const { all, failures } = rates.get(server.name);
      const result = { mbps: all.length ? median(all) : 0, best: all.length ? Math.max(...all) : 0, failures, all };
      single.get(server.name).set(testCase.label, result);
      process.stderr.write(`single ${server.name} ${testCase.label}: ${result.mbps.toFixed(1)} MB/s (runs ${all.map((r) => r.toFixed(1)).join(', ')})\n`);
    }
  }
  for (const server of running) await server.stop();

  // Storms: one fresh server at a time, so CPU and RSS are its own.
  for (const clients of STORMS) {
    for (const definition of servers) {
      if (!single.has(definition.name)) continue;
      const runs = [];
      for (let run = 0; run < STORM_RUNS; run++) {
        const server = await startServer(definition);
        await atftpFetch(server.port, ['blksize 1468']);
        runs.push(await storm(server, clients));
        await server.stop();
      }
      const result = {
        mbps: median(runs.map((r) => r.mbps)),
        failures: runs.reduce((sum, r) => sum + r.failures, 0),
        cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
        peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)),
      };
      if (!storms.has(definition.name)) storms.set(definition.name, new Map());
      storms.get(definition.name).set(clients, result);
      process.stderr.write(`storm ${clients} ${definition.name}: ${result.mbps.toFixed(1)} MB/s, ${result.failures} failed, ${result.cpuSeconds.toFixed(1)} s CPU, ${result.peakRssMB.toFixed(0)} MB\n`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

// ---------------------------------------------------------------- report

const cpuModel = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? 'unknown';
const names = [...single.keys()];
const ratio = (value, reference) => (reference > 0 ? `${(value / reference).toFixed(2)}x` : 'n/a');
const lines = [];
lines.push('## TFTP', '');
lines.push(`Machine: ${cpus().length} CPUs (nproc), ${cpuModel}; ${new Date().toISOString()}; Node ${process.version}; load average before/after: ${loadBefore} / ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}.`);
lines.push(`Loopback, ${FILE_MB} MiB file, atftp client for every server. Single client: median of ${RUNS} runs, servers interleaved run by run${PIN ? ', each server pinned to CPU 0 and atftp to CPU 1 (unpinned, the kernel puts the lock-step pair on one CPU in some runs and on two in others, which alone moves every server about 3x on this VM; two CPUs is the realistic case, the client being another machine)' : ', unpinned'}. Storms: ${STORM_RUNS} run(s) per size, lock-step blksize 1468, one fresh server at a time; CPU and peak RSS summed over the server's process tree (/proc). The client (atftp) shares the same cores.`);
if (skipped.length) lines.push('', `Skipped: ${skipped.join('; ')}.`);
lines.push('', '### Single client (MB/s, median of the runs; best run in brackets)', '');
lines.push(`| case | ${names.join(' | ')} | netboot / tftpd-hpa | netboot / atftpd |`);
lines.push(`|---|${names.map(() => '---:').join('|')}|---:|---:|`);
for (const testCase of CASES) {
  const row = names.map((name) => {
    const result = single.get(name).get(testCase.label);
    return `${result.mbps.toFixed(1)} [${result.best.toFixed(1)}]${result.failures ? ` (${result.failures} failed)` : ''}`;
  });
  const nb = single.get('netboot')?.get(testCase.label)?.mbps ?? 0;
  const hpa = single.get('tftpd-hpa')?.get(testCase.label)?.mbps ?? 0;
  const at = single.get('atftpd')?.get(testCase.label)?.mbps ?? 0;
  const best = (name) => single.get(name)?.get(testCase.label)?.best ?? 0;
  lines.push(`| ${testCase.label} | ${row.join(' | ')} | ${ratio(nb, hpa)} [${ratio(best('netboot'), best('tftpd-hpa'))}] | ${ratio(nb, at)} [${ratio(best('netboot'), best('atftpd'))}] |`);
}
for (const clients of STORMS) {
  lines.push('', `### Boot storm: ${clients} clients × ${FILE_MB} MiB at once`, '');
  lines.push('| server | aggregate MB/s | failures | server CPU s | peak RSS MB | vs tftpd-hpa |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  const hpa = storms.get('tftpd-hpa')?.get(clients)?.mbps ?? 0;
  for (const name of names) {
    const result = storms.get(name)?.get(clients);
    if (!result) continue;
    lines.push(`| ${name} | ${result.mbps.toFixed(1)} | ${result.failures} | ${result.cpuSeconds.toFixed(1)} | ${result.peakRssMB.toFixed(0)} | ${ratio(result.mbps, hpa)} |`);
  }
}
lines.push('', `Bench wall time: ${((Date.now() - benchStarted) / 1000).toFixed(0)} s. Run: \`npm run build && node bench/tftp.mjs\` (env TFTP_BENCH_RUNS, TFTP_BENCH_STORM_RUNS, TFTP_BENCH_STORMS, TFTP_BENCH_FILE_MB for longer runs).`, '');
const report = lines.join('\n');
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'tftp.md'), report);
process.stdout.write(report);

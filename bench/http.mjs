#!/usr/bin/env node
/**
 * HTTP file serving: netboot's HTTP service (from ../dist) beside nginx
 * (Debian nginx-light) serving the same folder on loopback.
 *
 *   node bench/http.mjs              # a few minutes
 *   NETBOOT_BENCH_LONG=1 node bench/http.mjs   # more repetitions
 *
 * Scenarios: one 1 GiB download; 50 concurrent downloads of a 200 MiB file.
 * Clients are curl processes (`-o /dev/null`), the same for both servers.
 * Server memory: VmRSS sampled from /proc every 100 ms during each scenario
 * (nginx: master + workers summed), and the idle RSS before the load.
 * Writes the Markdown section to stdout and bench/out/http.md.
 *
 * While iterating (bounded runs; the table is then written to stdout only,
 * bench/out/http.md is left alone):
 *   NETBOOT_BENCH_HTTP_SERVERS=netboot      # which servers: netboot,nginx,nginx1 (default all three)
 *   NETBOOT_BENCH_HTTP_SINGLE=1             # repetitions of the 1 GiB download
 *   NETBOOT_BENCH_HTTP_CONCURRENT=1         # repetitions of the 50-client scenario
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync, existsSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const HERE = dirname(fileURLToPath(import.meta.url));
const LONG = process.env.NETBOOT_BENCH_LONG === '1';
const envCount = (name, fallback) => (process.env[name] === undefined ? fallback : Math.max(1, Number(process.env[name]) || fallback));
const SINGLE_REPEATS = envCount('NETBOOT_BENCH_HTTP_SINGLE', LONG ? 7 : 3);
const CONCURRENT_REPEATS = envCount('NETBOOT_BENCH_HTTP_CONCURRENT', LONG ? 5 : 3);
const SERVERS = (process.env.NETBOOT_BENCH_HTTP_SERVERS ?? 'netboot,nginx,nginx1').split(',').map((name) => name.trim());
/** A partial run (fewer servers or repetitions) is for iterating, not for BENCHMARKS.md. */
const PARTIAL = ['NETBOOT_BENCH_HTTP_SERVERS', 'NETBOOT_BENCH_HTTP_SINGLE', 'NETBOOT_BENCH_HTTP_CONCURRENT'].some((name) => process.env[name] !== undefined);
const CONCURRENT_CLIENTS = 50;
const BIG_BYTES = 1024 * 1024 * 1024;
const MEDIUM_BYTES = 200 * 1024 * 1024;
const MiB = 1024 * 1024;
/** A server left out of a partial run: every figure NaN, printed as such. */
const MISSING = { idleKiB: Number.NaN, single: Number.NaN, singleAll: [], singlePeakKiB: Number.NaN, singleCpuPerGB: Number.NaN, concurrent: Number.NaN, concurrentAll: [], concurrentPeakKiB: Number.NaN, concurrentCpuPerGB: Number.NaN };


// ---- server mode: `node bench/http.mjs --serve <dir>` runs netboot's HTTP service alone in this process.
if (process.argv[2] === '--serve') {
  await serveNetboot(process.argv[3]);
} else {
  await main();
}

async function serveNetboot(dir) {
  const { loadConfigText } = await import('../dist/config/load.js');
  const { createLogger } = await import('../dist/log/logger.js');
  const { EventLog } = await import('../dist/runtime/events.js');
  const { Metrics } = await import('../dist/runtime/metrics.js');
  const { TransferRegistry } = await import('../dist/runtime/transfers.js');
  const { EMPTY_LEASE_VIEW } = await import('../dist/runtime/lease-view.js');
  const { FileBootOnceStore } = await import('../dist/state/boot-once-store.js');
  const { createHttpService } = await import('../dist/http/service.js');
  const yaml = `
server: { address: 127.0.0.1 }
dhcp: { mode: off, subnet: 127.0.0.0/8, pool: 127.0.10.100-127.0.10.199, leaseFile: ${join(dir, 'state', 'leases.json')} }
tftp: { root: ${join(dir, 'files')}, listen: 127.0.0.1, port: 10069 }
http: { listen: 127.0.0.1, port: 8080, trees: { bench: ${join(dir, 'files')} } }
profiles: { local: { localboot: true } }
defaultProfile: local
log: { level: warn }
`;
  const loaded = loadConfigText(yaml, join(dir, 'bench.yaml'));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const config = { ...loaded.config, http: { ...loaded.config.http, port: 0 } };
  const log = createLogger({ level: 'warn', pretty: false, destination: process.stderr });
  const bootOnce = new FileBootOnceStore(config.stateDir, log);
  let leases = EMPTY_LEASE_VIEW;
  const context = {
    config: () => config, log, events: new EventLog(), metrics: new Metrics(), transfers: new TransferRegistry(), bootOnce,
    bootState: { isOnceDone: (name) => bootOnce.isDone(name) },
    leases: () => leases, registerLeaseView: (view) => { leases = view; }, fail: (error) => { log.error({ err: error }, 'failed'); process.exit(1); },
  };
  const service = createHttpService(context);
  await service.start();
  process.stdout.write(`${service.describe().split(':').pop()}\n`);
  process.on('SIGTERM', async () => { await service.stop(1000); process.exit(0); });
}

// ---- bench mode

function machine() {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const nginx = shellOutput('nginx -v 2>&1').trim();
  return { nproc: cpus().length, model, date: new Date().toISOString(), node: process.version, nginx };
}

function shellOutput(command) {
  try {
    return execFileSync('sh', ['-c', command], { encoding: 'utf8' });
  } catch (error) {
    return String(error.stdout ?? '');
  }
}

function makeFile(path, bytes) {
  const block = randomBytes(MiB);
  const fd = openSync(path, 'w');
  for (let written = 0; written < bytes; written += MiB) writeSync(fd, block, 0, Math.min(MiB, bytes - written));
  closeSync(fd);
  chmodSync(path, 0o644);
}

function rssKiB(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Children of a pid (nginx workers), from /proc/<pid>/task/<pid>/children. */
function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (clock ticks: 100 per second on Linux). */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function treeCpuSeconds(pid) {
  return [pid, ...childPids(pid)].reduce((sum, each) => sum + cpuSeconds(each), 0);
}

function treeRssKiB(pid) {
  return [pid, ...childPids(pid)].reduce((sum, each) => sum + rssKiB(each), 0);
}

function sampleRss(pid) {
  let peak = treeRssKiB(pid);
  const timer = setInterval(() => { peak = Math.max(peak, treeRssKiB(pid)); }, 100);
  return () => { clearInterval(timer); return Math.max(peak, treeRssKiB(pid)); };
}

function curlOnce(url) {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', '--noproxy', '*', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => { out += chunk; });
    child.stderr.on('data', (chunk) => { err += chunk; });
    // 'close', not 'exit': stdout may still hold curl's -w line when the process exits.
    child.once('close', (code) => {
      const [status, size] = out.trim().split(' ');
      if (code !== 0 || status !== '200') reject(new Error(`curl ${url}: exit ${code} status ${status} ${err}`));
      else resolve(Number(size));
    });
  });
}

async function timedDownloads(url, clients, expectedBytes) {
  const started = process.hrtime.bigint();
  const sizes = await Promise.all(Array.from({ length: clients }, () => curlOnce(url)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const size of sizes) if (size !== expectedBytes) throw new Error(`${url}: got ${size} bytes, expected ${expectedBytes}`);
  return (clients * expectedBytes) / seconds / 1e6; // MB/s
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    try {
      await curlHead(`http://127.0.0.1:${port}/`);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`nothing listening on ${port}`);
}

function curlHead(url) {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-s', '--noproxy', '*', '-o', '/dev/null', '-I', url], { stdio: 'ignore' });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(String(code)))));
  });
}

async function startNetboot(dir) {
  // With the V8 flags the netboot executable uses (src/runtime/node-flags.ts): measure what admins run.
  const NODE_FLAGS = (await import('../dist/runtime/node-flags.js')).benchNodeFlags();
  const child = spawn(process.execPath, [...NODE_FLAGS, fileURLToPath(import.meta.url), '--serve', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`netboot server exited ${code}`)));
  });
  return { pid: child.pid, port, urlFor: (name) => `http://127.0.0.1:${port}/trees/bench/${name}`, stop: () => stopChild(child) };
}

async function startNginx(dir, workers = 'auto') {
  const prefix = join(dir, `nginx-${workers}`);
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const port = 20000 + Math.floor(Math.random() * 20000);
  // Debian's defaults where it matters: worker_processes auto, sendfile on, tcp_nopush on.
  const conf = `
worker_processes ${workers};
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'logs', 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  types { application/octet-stream img; }
  client_body_temp_path ${join(prefix, 'body')};
  proxy_temp_path ${join(prefix, 'proxy')};
  fastcgi_temp_path ${join(prefix, 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'uwsgi')};
  scgi_temp_path ${join(prefix, 'scgi')};
  server {
    listen 127.0.0.1:${port};
    root ${join(dir, 'files')};
    location /trees/bench/ { alias ${join(dir, 'files')}/; }
  }
}
`;
  const confPath = join(prefix, 'nginx.conf');
  writeFileSync(confPath, conf);
  const child = spawn('nginx', ['-p', prefix, '-c', confPath, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port);
  return { pid: child.pid, port, urlFor: (name) => `http://127.0.0.1:${port}/trees/bench/${name}`, stop: () => stopChild(child) };
}

function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

/**
 * Both servers run side by side and take turns, scenario by scenario, so
 * whatever else the machine is doing is shared out between them rather than
 * landing on one.
 */
async function measureBoth(servers) {
  await new Promise((resolve) => setTimeout(resolve, 300));
  const results = servers.map((server) => ({ idleKiB: treeRssKiB(server.pid), single: [], singlePeakKiB: 0, singleCpuS: 0, concurrent: [], concurrentPeakKiB: 0, concurrentCpuS: 0 }));
  for (const server of servers) await curlOnce(server.urlFor('medium.img')); // warm up (page cache, JIT)
  for (let i = 0; i < SINGLE_REPEATS; i++) {
    for (const [index, server] of servers.entries()) {
      const stop = sampleRss(server.pid);
      const cpuBefore = treeCpuSeconds(server.pid);
      results[index].single.push(await timedDownloads(server.urlFor('big.img'), 1, BIG_BYTES));
      results[index].singleCpuS += treeCpuSeconds(server.pid) - cpuBefore;
      results[index].singlePeakKiB = Math.max(results[index].singlePeakKiB, stop());
    }
  }
  for (let i = 0; i < CONCURRENT_REPEATS; i++) {
    for (const [index, server] of servers.entries()) {
      const stop = sampleRss(server.pid);
      const cpuBefore = treeCpuSeconds(server.pid);
      results[index].concurrent.push(await timedDownloads(server.urlFor('medium.img'), CONCURRENT_CLIENTS, MEDIUM_BYTES));
      results[index].concurrentCpuS += treeCpuSeconds(server.pid) - cpuBefore;
      results[index].concurrentPeakKiB = Math.max(results[index].concurrentPeakKiB, stop());
    }
  }
  const singleGB = (SINGLE_REPEATS * BIG_BYTES) / 1e9;
  const concurrentGB = (CONCURRENT_REPEATS * CONCURRENT_CLIENTS * MEDIUM_BYTES) / 1e9;
  return results.map((result) => ({ ...result, singleCpuPerGB: result.singleCpuS / singleGB, concurrentCpuPerGB: result.concurrentCpuS / concurrentGB, singleAll: result.single, single: median(result.single), concurrentAll: result.concurrent, concurrent: median(result.concurrent) }));
}

function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

async function main() {
  if (!existsSync(join(HERE, '..', 'dist', 'http', 'service.js'))) {
    console.error('build first: npx tsc -p tsconfig.build.json');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), `netboot-bench-http-${process.pid}-`));
  try {
    mkdirSync(join(dir, 'files'), { recursive: true });
    // nginx started as root drops its workers to nobody: they must be able to read the files.
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'files'), 0o755);
    makeFile(join(dir, 'files', 'big.img'), BIG_BYTES);
    makeFile(join(dir, 'files', 'medium.img'), MEDIUM_BYTES);
    const info = machine();

    const loadBefore = loadAverage();
    const started = [];
    let ours;
    let theirs;
    let oneWorker;
    try {
      if (SERVERS.includes('netboot')) started.push(['netboot', await startNetboot(dir)]);
      if (SERVERS.includes('nginx')) started.push(['nginx', await startNginx(dir)]);
      if (SERVERS.includes('nginx1')) started.push(['nginx1', await startNginx(dir, 1)]);
      const measured = await measureBoth(started.map(([, server]) => server));
      const byName = Object.fromEntries(started.map(([name], index) => [name, measured[index]]));
      [ours, theirs, oneWorker] = [byName.netboot ?? MISSING, byName.nginx ?? MISSING, byName.nginx1 ?? MISSING];
    } finally {
      for (const [, server] of started) await server.stop();
    }
    const loadAfter = loadAverage();

    const mb = (value) => value.toFixed(0);
    const mib = (kib) => (kib / 1024).toFixed(1);
    const ratio = (a, b) => (a / b).toFixed(2);
    const lines = [
      '## HTTP file serving (bench/http.mjs)',
      '',
      `Machine: ${info.nproc} cores, ${info.model}; ${info.date}; Node ${info.node}; ${info.nginx}.`,
      `Loopback, files in the page cache, curl clients (\`-o /dev/null\`) on the same 2 cores as the server. ` +
        `Single: median of ${SINGLE_REPEATS} downloads of a 1 GiB file. Concurrent: ${CONCURRENT_CLIENTS} curl at once, each the same 200 MiB file, ` +
        `aggregate bytes / wall time (median of ${CONCURRENT_REPEATS}). nginx: Debian defaults that matter (worker_processes auto = 2 here, sendfile on), and the same with one worker (netboot is one Node process). ` +
        'RSS: VmRSS of the server (nginx master + workers), sampled every 100 ms. The two servers take turns scenario by scenario. ' +
        `Load average before/after: ${loadBefore} / ${loadAfter} (other work on the machine makes single runs noisy).`,
      '',
      '| scenario | netboot MB/s | nginx MB/s | netboot / nginx | nginx 1 worker MB/s | netboot / nginx 1 worker |',
      '|---|---:|---:|---:|---:|---:|',
      `| 1 GiB, one client | ${mb(ours.single)} | ${mb(theirs.single)} | ${ratio(ours.single, theirs.single)} | ${mb(oneWorker.single)} | ${ratio(ours.single, oneWorker.single)} |`,
      `| 200 MiB × ${CONCURRENT_CLIENTS} concurrent | ${mb(ours.concurrent)} | ${mb(theirs.concurrent)} | ${ratio(ours.concurrent, theirs.concurrent)} | ${mb(oneWorker.concurrent)} | ${ratio(ours.concurrent, oneWorker.concurrent)} |`,
      '',
      'Server CPU seconds (user + system, all its processes) per GB sent: less sensitive to other load on the machine than MB/s.',
      '',
      '| server CPU s / GB | netboot | nginx | nginx 1 worker | netboot / nginx |',
      '|---|---:|---:|---:|---:|',
      `| 1 GiB, one client | ${ours.singleCpuPerGB.toFixed(2)} | ${theirs.singleCpuPerGB.toFixed(2)} | ${oneWorker.singleCpuPerGB.toFixed(2)} | ${ratio(ours.singleCpuPerGB, theirs.singleCpuPerGB)} |`,
      `| 200 MiB × ${CONCURRENT_CLIENTS} concurrent | ${ours.concurrentCpuPerGB.toFixed(2)} | ${theirs.concurrentCpuPerGB.toFixed(2)} | ${oneWorker.concurrentCpuPerGB.toFixed(2)} | ${ratio(ours.concurrentCpuPerGB, theirs.concurrentCpuPerGB)} |`,
      '',
      '| server RSS (MiB) | netboot | nginx | nginx 1 worker |',
      '|---|---:|---:|---:|',
      `| idle | ${mib(ours.idleKiB)} | ${mib(theirs.idleKiB)} | ${mib(oneWorker.idleKiB)} |`,
      `| peak, 1 GiB download | ${mib(ours.singlePeakKiB)} | ${mib(theirs.singlePeakKiB)} | ${mib(oneWorker.singlePeakKiB)} |`,
      `| peak, ${CONCURRENT_CLIENTS} concurrent | ${mib(ours.concurrentPeakKiB)} | ${mib(theirs.concurrentPeakKiB)} | ${mib(oneWorker.concurrentPeakKiB)} |`,
      '',
      `Runs (MB/s): netboot single ${ours.singleAll.map(mb).join(', ')}; nginx single ${theirs.singleAll.map(mb).join(', ')}; ` +
        `nginx 1 worker single ${oneWorker.singleAll.map(mb).join(', ')}; netboot concurrent ${ours.concurrentAll.map(mb).join(', ')}; ` +
        `nginx concurrent ${theirs.concurrentAll.map(mb).join(', ')}; nginx 1 worker concurrent ${oneWorker.concurrentAll.map(mb).join(', ')}.`,
      '',
    ];
    const text = lines.join('\n');
    process.stdout.write(`${text}\n`);
    if (!PARTIAL) {
      mkdirSync(join(HERE, 'out'), { recursive: true });
      writeFileSync(join(HERE, 'out', 'http.md'), text);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

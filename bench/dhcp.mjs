#!/usr/bin/env node
/**
 * DHCP benchmark: perfdhcp (Debian package kea-admin) against netboot,
 * kea-dhcp4 (memfile, persist true) and dnsmasq (--no-ping), same pool, same
 * rates, one after the other in one run, each on a fresh server with an empty
 * lease file.
 *
 * Setup (as in /work/shared/notes/reference-figures.md): two namespaces made
 * here, joined by one veth (server 10.66.0.1/16, client 10.66.0.2/16), no
 * other link, no route out; perfdhcp fills in giaddr as a relay would, so
 * servers answer by unicast. Pool 10.66.1.0-10.66.255.250, 50,000 clients.
 *
 * Measures: 4-way exchanges (DORA) per second at offered 500 and 2000, the
 * highest offered rate sustained with under 1% of exchanges lost, perfdhcp's
 * average delays, a latency probe (1,000 DORA exchanges one at a time, median
 * and p99, from a small relay-style client in this file), and server CPU and
 * RSS after the 2000/s run (10,000 leases).
 *
 *   npx tsc -p tsconfig.build.json && node bench/dhcp.mjs
 * BENCH_LONG=1 runs 10 s per rate instead of 4. Needs root.
 * Writes bench/out/dhcp.md and prints it.
 *
 * While iterating (writes nothing, prints one line per run):
 *   BENCH_DHCP_RATES=2000,12000   only these offered rates, once each (no ramp, no latency probe)
 *   BENCH_DHCP_SERVERS=netboot,kea-dhcp4   only these servers (also for the full run)
 *   BENCH_DHCP_CPU_PROF=DIR   netboot runs with --cpu-prof, profiles written to DIR
 *   BENCH_NODE_FLAGS='…'      Node flags for netboot instead of src/runtime/node-flags.ts's ('' for none)
 * Every run reports the server's CPU time per completed exchange (µs/DORA),
 * which on a shared machine is steadier than the rate itself.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
// netboot runs with the V8 flags its executable uses (src/runtime/node-flags.ts), so this measures what admins run.
const NODE_FLAGS = (await import(join(root, 'dist', 'runtime', 'node-flags.js'))).benchNodeFlags();

if (process.argv[2] === '--latency-client') {
  await latencyClient(Number(process.argv[3]), process.argv[4], process.argv[5]);
  process.exit(0);
}

const LONG = process.env.BENCH_LONG === '1';
const SECONDS = LONG ? 10 : 4;
const CLIENTS = 50_000;
/** Up to where a single-threaded perfdhcp can still send on time; a server still sustaining the top rate is marked "≥". */
const RAMP = [250, 500, 1000, 2000, 3000, 3500, 4000, 4500, 5000, 6000, 7000, 8000, 10000, 12000, 14000, 16000, 18000, 20000, 24000];
const ONLY_RATES = process.env.BENCH_DHCP_RATES ? process.env.BENCH_DHCP_RATES.split(',').map(Number) : null;
const ONLY_SERVERS = process.env.BENCH_DHCP_SERVERS ? process.env.BENCH_DHCP_SERVERS.split(',') : null;
const CPU_PROF_DIR = process.env.BENCH_DHCP_CPU_PROF ?? null;
const FIXED_RATES = [500, 2000];
const LATENCY_EXCHANGES = LONG ? 3000 : 1000;
const SERVER_NS = `nbb-dhcp-s-${process.pid}`;
const CLIENT_NS = `nbb-dhcp-c-${process.pid}`;
const SERVER_IF = 'pd-s';
const CLIENT_IF = 'pd0';
/**
 * perfdhcp's thread mode. Multi-threaded perfdhcp takes both cores of a
 * 2-core box and starves the server under test; single leaves one core to
 * the server, as separate client machines would. BENCH_DHCP_THREADS=multi
 * for the reference notes' setting.
 */
const PERFDHCP_THREADS = process.env.BENCH_DHCP_THREADS === 'multi' ? 'multi' : 'single';

function sh(command, args, options = {}) {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const has = (program) => { try { sh('sh', ['-c', `command -v ${program}`]); return true; } catch { return false; } };

function precheck() {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const program of ['perfdhcp', 'kea-dhcp4', 'dnsmasq', 'ip']) if (!has(program)) return `needs ${program}`;
  if (!existsSync(join(root, 'dist/dhcp/service.js'))) return 'needs a build: npx tsc -p tsconfig.build.json';
  return null;
}

function makeNamespaces() {
  sh('ip', ['netns', 'add', SERVER_NS]);
  sh('ip', ['netns', 'add', CLIENT_NS]);
  for (const ns of [SERVER_NS, CLIENT_NS]) sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  sh('ip', ['-n', SERVER_NS, 'link', 'add', SERVER_IF, 'type', 'veth', 'peer', 'name', CLIENT_IF, 'netns', CLIENT_NS]);
  sh('ip', ['-n', SERVER_NS, 'addr', 'add', '10.66.0.1/16', 'dev', SERVER_IF]);
  sh('ip', ['-n', CLIENT_NS, 'addr', 'add', '10.66.0.2/16', 'dev', CLIENT_IF]);
  sh('ip', ['-n', SERVER_NS, 'link', 'set', SERVER_IF, 'up']);
  sh('ip', ['-n', CLIENT_NS, 'link', 'set', CLIENT_IF, 'up']);
}

function removeNamespaces() {
  for (const ns of [SERVER_NS, CLIENT_NS]) { try { sh('ip', ['netns', 'del', ns]); } catch { /* gone */ } }
}

/** A server under test: how to start it in SERVER_NS with an empty lease store in `dir`. */
const ALL_SERVERS = [
  {
    name: 'netboot',
    start(dir) {
      const config = join(dir, 'netboot.yaml');
      writeFileSync(config, [
        'server: { address: 10.66.0.1 }',
        'dhcp:',
        '  mode: authoritative',
        '  subnet: 10.66.0.0/16',
        '  pool: 10.66.1.0-10.66.255.250',
        '  router: 10.66.0.1',
        '  leaseTime: 1h',
        `  leaseFile: ${join(dir, 'netboot-leases.json')}`,
        'tftp: { enabled: false }',
        'http: { enabled: false }',
        'profiles:',
        '  local: { localboot: true }',
        '',
      ].join('\n'));
      const profile = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [];
      return spawnInServer(process.execPath, [...NODE_FLAGS, ...profile, join(root, 'test/fixtures/dhcp/run-service.mjs'), config, '--quiet'], { NETBOOT_LOG_LEVEL: 'warn' });
    },
    leaseFile: (dir) => join(dir, 'netboot-leases.json'),
  },
  {
    name: 'kea-dhcp4',
    start(dir) {
      const config = join(dir, 'kea.json');
      writeFileSync(config, JSON.stringify({
        Dhcp4: {
          'interfaces-config': { interfaces: [SERVER_IF], 'dhcp-socket-type': 'raw' },
          'lease-database': { type: 'memfile', persist: true, name: join(dir, 'kea-leases4.csv'), 'lfc-interval': 0 },
          'valid-lifetime': 3600,
          subnet4: [{ id: 1, subnet: '10.66.0.0/16', pools: [{ pool: '10.66.1.0 - 10.66.255.250' }], 'option-data': [{ name: 'routers', data: '10.66.0.1' }] }],
          loggers: [{ name: 'kea-dhcp4', severity: 'WARN', output_options: [{ output: 'stderr' }] }],
        },
      }));
      return spawnInServer('kea-dhcp4', ['-c', config], { KEA_LOCKFILE_DIR: dir, KEA_PIDFILE_DIR: dir });
    },
    leaseFile: (dir) => join(dir, 'kea-leases4.csv'),
  },
  {
    name: 'dnsmasq',
    start(dir) {
      return spawnInServer('dnsmasq', [
        '--keep-in-foreground', '--conf-file=/dev/null', '--port=0', `--interface=${SERVER_IF}`, '--bind-interfaces',
        '--dhcp-range=10.66.1.0,10.66.255.250,255.255.0.0,1h', '--dhcp-option=3,10.66.0.1', `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
        '--no-ping', '--dhcp-lease-max=200000', `--pid-file=${join(dir, 'dnsmasq.pid')}`, '--quiet-dhcp',
      ], {});
    },
    leaseFile: (dir) => join(dir, 'dnsmasq.leases'),
  },
];

const SERVERS = ALL_SERVERS.filter((server) => ONLY_SERVERS === null || ONLY_SERVERS.includes(server.name));

function spawnInServer(command, args, env) {
  const child = spawn('ip', ['netns', 'exec', SERVER_NS, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  child.output = '';
  child.stdout.on('data', (chunk) => { child.output += chunk; });
  child.stderr.on('data', (chunk) => { child.output += chunk; });
  return child;
}

async function waitListening(child) {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`server exited: ${child.output}`);
    const sockets = sh('ip', ['netns', 'exec', SERVER_NS, 'ss', '-uln']);
    // Kea with raw sockets still opens a UDP socket on 67.
    if (/:67\s/.test(sockets)) { await sleep(300); return; }
    await sleep(100);
  }
  throw new Error(`server did not listen on 67: ${child.output}`);
}

async function stopServer(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** utime+stime in seconds (the `ip netns exec` process execs the server, so the pid is the server's). */
function cpuSeconds(pid) {
  const { user, system } = cpuSplit(pid);
  return user + system;
}
/** utime and stime apart: time in the kernel (sockets, disk) against time in the server's own code. */
function cpuSplit(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}
/** CPU seconds of each thread: the main (event-loop) thread apart from the rest (for node: GC helpers, the libuv pool doing the journal writes). */
function threadCpu(pid) {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let fields;
    try { fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' '); } catch { continue; }
    const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
    if (tid === String(pid)) main += seconds;
    else others += seconds;
  }
  return { main, others };
}
function rssMb(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** UDP datagrams the kernel dropped for a full receive buffer in a namespace (/proc/net/snmp Udp RcvbufErrors). */
function udpRcvbufErrors(ns) {
  const lines = sh('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp']).split('\n').filter((line) => line.startsWith('Udp:'));
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')]);
}

function parsePerfdhcp(output) {
  const section = (name) => output.split(`Statistics for: ${name}`)[1] ?? '';
  const number = (text, label) => Number(new RegExp(`${label}: ([\\d.]+)`).exec(text)?.[1] ?? NaN);
  const doText = section('DISCOVER-OFFER');
  const raText = section('REQUEST-ACK');
  const discovers = number(doText, 'sent packets');
  const acks = number(raText, 'received packets');
  return {
    // ACKs over the sending period (perfdhcp's own "Rate" also counts the -W wait for late replies).
    rate: acks / SECONDS,
    discovers,
    acks,
    lost: discovers > 0 ? Math.max(0, 1 - acks / discovers) : 1,
    offerDelayMs: number(doText, 'avg delay'),
    ackDelayMs: number(raText, 'avg delay'),
  };
}

async function runAtRate(server, rate) {
  const dir = mkdtempSync(join(tmpdir(), `nbb-dhcp-${server.name}-`));
  const child = server.start(dir);
  try {
    await waitListening(child);
    const cpuBefore = cpuSeconds(child.pid);
    const splitBefore = cpuSplit(child.pid);
    const threadsBefore = threadCpu(child.pid);
    const dropsBefore = { server: udpRcvbufErrors(SERVER_NS), client: udpRcvbufErrors(CLIENT_NS) };
    const started = Date.now();
    let output;
    try {
      // The shell reports perfdhcp's CPU time (its waited-for children's, /proc/PID/stat cutime + cstime): on a
      // 2-core box the client is near a full core at the top rates, and what the server's threads take beside it counts.
      output = sh('ip', ['netns', 'exec', CLIENT_NS, 'sh', '-c', 'perfdhcp "$@"; rc=$?; echo "perfdhcp-cpu-ticks $(cut -d" " -f16,17 /proc/$$/stat)"; exit $rc', 'sh', '-4', '-g', PERFDHCP_THREADS, '-l', CLIENT_IF, '-r', String(rate), '-R', String(CLIENTS), '-p', String(SECONDS), '-d', '1', '-W', '1000000'], { timeout: (SECONDS + 30) * 1000 });
    } catch (error) {
      // perfdhcp exits non-zero when packets were dropped; its report is still on stdout.
      output = `${error.stdout ?? ''}`;
    }
    const elapsedS = (Date.now() - started) / 1000;
    const result = parsePerfdhcp(output);
    const cpuUsed = cpuSeconds(child.pid) - cpuBefore;
    const splitAfter = cpuSplit(child.pid);
    result.systemShare = (splitAfter.system - splitBefore.system) / Math.max(cpuUsed, 0.01);
    result.kernelDrops = { server: udpRcvbufErrors(SERVER_NS) - dropsBefore.server, client: udpRcvbufErrors(CLIENT_NS) - dropsBefore.client };
    const threadsAfter = threadCpu(child.pid);
    const ticks = /perfdhcp-cpu-ticks (\d+) (\d+)/.exec(output);
    // Shares of one core over perfdhcp's whole run (sending period plus the -W wait).
    result.clientCpuPercent = ticks ? ((Number(ticks[1]) + Number(ticks[2])) / 100 / elapsedS) * 100 : NaN;
    result.mainThreadPercent = ((threadsAfter.main - threadsBefore.main) / elapsedS) * 100;
    result.otherThreadsPercent = ((threadsAfter.others - threadsBefore.others) / elapsedS) * 100;
    result.cpuPercent = (cpuUsed / elapsedS) * 100;
    result.cpuUsPerDora = result.acks > 0 ? (cpuUsed * 1e6) / result.acks : NaN;
    result.rssMb = rssMb(child.pid);
    result.leaseFileBytes = existsSync(server.leaseFile(dir)) ? readFileSync(server.leaseFile(dir)).length : 0;
    return result;
  } finally {
    await stopServer(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function latencyProbe(server) {
  const dir = mkdtempSync(join(tmpdir(), `nbb-dhcp-${server.name}-`));
  const child = server.start(dir);
  try {
    await waitListening(child);
    const output = sh('ip', ['netns', 'exec', CLIENT_NS, process.execPath, fileURLToPath(import.meta.url), '--latency-client', String(LATENCY_EXCHANGES), '10.66.0.2', '10.66.0.1'], { timeout: 120_000 });
    return JSON.parse(output);
  } finally {
    await stopServer(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs inside the client namespace: acts as a relay (giaddr = own address,
 * port 67) and does `count` DORA exchanges one after the other, each with a
 * new MAC, timing DISCOVER → ACK. Prints {medianMs, p99Ms, lost}.
 */
async function latencyClient(count, relayAddress, serverAddress) {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise((resolve) => socket.bind(67, relayAddress, resolve));
  const giaddr = Buffer.from(relayAddress.split('.').map(Number));
  let pending = null;
  socket.on('message', (data) => {
    if (pending && data.length >= 240 && data.readUInt32BE(4) === pending.xid) pending.resolve(data);
  });
  const build = (type, xid, mac, extra) => {
    const header = Buffer.alloc(240);
    header[0] = 1; header[1] = 1; header[2] = 6; header[3] = 1;
    header.writeUInt32BE(xid, 4);
    giaddr.copy(header, 24);
    mac.copy(header, 28);
    header.writeUInt32BE(0x63825363, 236);
    const options = Buffer.concat([Buffer.from([53, 1, type]), ...extra, Buffer.from([255])]);
    const packet = Buffer.concat([header, options]);
    return packet.length < 300 ? Buffer.concat([packet, Buffer.alloc(300 - packet.length)]) : packet;
  };
  const exchange = (packet, xid) => new Promise((resolve) => {
    const timer = setTimeout(() => { pending = null; resolve(null); }, 2000);
    pending = { xid, resolve: (data) => { clearTimeout(timer); pending = null; resolve(data); } };
    socket.send(packet, 67, serverAddress);
  });
  const times = [];
  let lost = 0;
  for (let i = 0; i < count; i++) {
    const mac = Buffer.from([0x02, 0xbe, 0x00, (i >> 16) & 255, (i >> 8) & 255, i & 255]);
    const xid = (0x5000000 + i) >>> 0;
    const started = process.hrtime.bigint();
    const offer = await exchange(build(1, xid, mac, []), xid);
    if (!offer) { lost += 1; continue; }
    const yiaddr = offer.subarray(16, 20);
    let serverId = null;
    for (let at = 240; at < offer.length;) {
      const code = offer[at];
      if (code === 0) { at += 1; continue; }
      if (code === 255) break;
      if (code === 54) serverId = offer.subarray(at + 2, at + 6);
      at += 2 + offer[at + 1];
    }
    const ack = await exchange(build(3, xid, mac, [Buffer.from([50, 4]), yiaddr, Buffer.from([54, 4]), serverId ?? Buffer.from(serverAddress.split('.').map(Number))]), xid);
    if (!ack) { lost += 1; continue; }
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  socket.close();
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;
  process.stdout.write(JSON.stringify({ medianMs: at(0.5), p99Ms: at(0.99), lost, count }));
}

const cpuShares = (result) => `CPU of one core: server main thread ${fmt(result.mainThreadPercent)}%, its other threads ${fmt(result.otherThreadsPercent)}%, perfdhcp ${fmt(result.clientCpuPercent)}%`;
const fmt = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const pct = (value) => (Number.isFinite(value) ? `${(value * 100).toFixed(2)}%` : 'n/a');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');

async function main() {
  const reason = precheck();
  const cpuModel = cpus()[0]?.model ?? 'unknown';
  const header = [
    '## DHCP',
    '',
    `Machine: ${cpus().length} cores (\`nproc\`), ${cpuModel}; load average at start ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}; ${new Date().toISOString()}.`,
    `Command: \`node bench/dhcp.mjs\`${LONG ? ' (BENCH_LONG=1)' : ''}. perfdhcp 2.2 (\`-g ${PERFDHCP_THREADS}\`) from a client namespace over one veth, relayed (giaddr set), ${CLIENTS.toLocaleString('en')} clients, ${SECONDS} s per rate, a fresh server and empty lease file per run; pool 10.66.1.0-10.66.255.250 for every server.`,
    `A rate counts as sustained when under 1% of exchanges are lost (the better of two tries); the ladder goes up to ${RAMP.at(-1).toLocaleString('en')} offered ("≥" when a server still sustains that).`,
    'DORA/s = ACKs received ÷ the sending period (late replies are waited for 1 s, `-W`; a reply later than 1 s counts as lost, `-d 1`).',
    'netboot: authoritative, lease journal with group commit (a durable O_DSYNC write, i.e. write + fdatasync, before every batch of ACKs; under load at most one every 2 ms), log level warn. kea-dhcp4 2.2: memfile, persist true (appends, no fsync), raw sockets. dnsmasq: --no-ping, lease file rewritten on change.',
    '',
  ];
  if (reason) {
    const text = [...header, `Not run: ${reason}.`, ''].join('\n');
    mkdirSync(join(here, 'out'), { recursive: true });
    writeFileSync(join(here, 'out', 'dhcp.md'), text);
    console.log(text);
    return;
  }
  removeNamespaces();
  makeNamespaces();
  const results = Object.fromEntries(SERVERS.map((server) => [server.name, { byRate: new Map(), sustained: null, latency: null, ramping: true }]));
  const run = async (server, rate) => {
    process.stderr.write(`${server.name} at ${rate}/s ... `);
    const result = await runAtRate(server, rate);
    results[server.name].byRate.set(rate, result);
    process.stderr.write(`${fmt(result.rate)} DORA/s, ${pct(result.lost)} lost, CPU ${fmt(result.cpuPercent)}%, ${fmt(result.cpuUsPerDora)} µs/DORA (${fmt(result.systemShare * 100)}% in the kernel), delays ${fmt(result.offerDelayMs, 2)} / ${fmt(result.ackDelayMs, 2)} ms, full receive buffers dropped ${result.kernelDrops.server} at the server, ${result.kernelDrops.client} at perfdhcp; ${cpuShares(result)}\n`);
    return result;
  };
  if (ONLY_RATES !== null) {
    // Iteration mode: the asked rates once each, nothing written.
    try {
      for (const rate of ONLY_RATES) for (const server of SERVERS) await run(server, rate);
    } finally {
      removeNamespaces();
    }
    return;
  }
  try {
    // Rate by rate, the servers in turn: on a shared machine whose load drifts, each rate's
    // figures are taken close together in time.
    for (const rate of RAMP) {
      for (const server of SERVERS) {
        const entry = results[server.name];
        if (!entry.ramping) continue;
        let result = await run(server, rate);
        // One retry before calling a rate unsustainable: on a shared 2-core box a single
        // 4-second sample can catch another process's burst (or a slow fdatasync).
        if (result.lost >= 0.01) {
          const again = await run(server, rate);
          if (again.lost < result.lost) result = again;
          entry.byRate.set(rate, result);
        }
        if (result.lost < 0.01) entry.sustained = { offered: rate, ...result };
        else entry.ramping = false;
      }
      if (SERVERS.every((server) => !results[server.name].ramping)) break;
    }
    // Still sustaining the top of the ladder: the bench, not the server, set the limit.
    for (const server of SERVERS) results[server.name].atTop = results[server.name].ramping;
    for (const rate of FIXED_RATES) {
      for (const server of SERVERS) if (!results[server.name].byRate.has(rate)) await run(server, rate);
    }
    for (const server of SERVERS) {
      process.stderr.write(`${server.name} latency probe ... `);
      results[server.name].latency = await latencyProbe(server);
      process.stderr.write(`median ${fmt(results[server.name].latency.medianMs, 2)} ms\n`);
    }
  } finally {
    removeNamespaces();
  }

  const names = SERVERS.map((server) => server.name);
  const lines = [...header];
  lines.push('| server | DORA/s at 500 offered (lost) | DORA/s at 2000 offered (lost) | max sustained (<1% lost): offered → DORA/s | perfdhcp avg delay at 2000: offer / ack ms | latency probe, one at a time: median / p99 ms | CPU at 2000/s (µs per DORA) | RSS after 10,000 leases |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const name of names) {
    const { byRate, sustained, latency } = results[name];
    const r500 = byRate.get(500);
    const r2000 = byRate.get(2000);
    lines.push(`| ${name} | ${fmt(r500.rate)} (${pct(r500.lost)}) | ${fmt(r2000.rate)} (${pct(r2000.lost)}) | ${sustained ? `${results[name].atTop ? '≥ ' : ''}${sustained.offered} → ${fmt(sustained.rate)}` : 'none'} | ${fmt(r2000.offerDelayMs, 2)} / ${fmt(r2000.ackDelayMs, 2)} | ${fmt(latency.medianMs, 2)} / ${fmt(latency.p99Ms, 2)}${latency.lost ? ` (${latency.lost} lost)` : ''} | ${fmt(r2000.cpuPercent)}% (${fmt(r2000.cpuUsPerDora)} µs) | ${fmt(r2000.rssMb, 1)} MB |`);
  }
  const nb = results.netboot;
  if (nb !== undefined && names.length > 1) {
    lines.push('');
    lines.push('Ratios (netboot ÷ reference; above 1× means netboot is faster or answers more):');
    lines.push('');
    lines.push('| vs | DORA/s at 2000 | max sustained DORA/s | latency median (reference ÷ netboot) | RSS (netboot ÷ reference) |');
    lines.push('|---|---|---|---|---|');
    for (const name of names.filter((n) => n !== 'netboot')) {
      const other = results[name];
      lines.push(`| ${name} | ${ratio(nb.byRate.get(2000).rate, other.byRate.get(2000).rate)} | ${ratio(nb.sustained?.rate, other.sustained?.rate)} | ${ratio(other.latency.medianMs, nb.latency.medianMs)} | ${ratio(nb.byRate.get(2000).rssMb, other.byRate.get(2000).rssMb)} |`);
    }
  }
  lines.push('');
  lines.push('Where each server stopped (the first offered rate it did not sustain, its better try): losses, kernel drops for a full receive buffer on each side, and CPU as shares of one core over the run.');
  lines.push('');
  lines.push('| server | offered | DORA/s (lost) | dropped at the server / at perfdhcp | perfdhcp avg delay: offer / ack ms | server main thread / other threads / perfdhcp CPU |');
  lines.push('|---|---|---|---|---|---|');
  for (const name of names) {
    const { byRate, sustained } = results[name];
    const failed = [...byRate.entries()].filter(([rate, result]) => rate > (sustained?.offered ?? 0) && result.lost >= 0.01).sort((a, b) => a[0] - b[0])[0];
    if (failed === undefined) continue;
    const [rate, r] = failed;
    lines.push(`| ${name} | ${rate} | ${fmt(r.rate)} (${pct(r.lost)}) | ${r.kernelDrops.server} / ${r.kernelDrops.client} | ${fmt(r.offerDelayMs, 2)} / ${fmt(r.ackDelayMs, 2)} | ${fmt(r.mainThreadPercent)}% / ${fmt(r.otherThreadsPercent)}% / ${fmt(r.clientCpuPercent)}% |`);
  }
  lines.push('');
  lines.push('Each server runs alone, but perfdhcp shares the machine with it (and, on a shared host, with whatever else runs): compare the columns of one run, not runs on different days. "Lost" is 1 − ACKs ÷ DISCOVERs sent.');
  lines.push('');
  const text = lines.join('\n');
  mkdirSync(join(here, 'out'), { recursive: true });
  writeFileSync(join(here, 'out', 'dhcp.md'), text);
  console.log(text);
}

await main();

#!/usr/bin/env node
/**
 * Foundation benchmark: config validation, the boot policy, and the serve
 * lifecycle, side by side with what an admin would otherwise run.
 *
 *   node bench/foundation.mjs        (after `npm run build`; under a minute)
 *
 * Environment:
 *   FOUNDATION_BENCH_RUNS=5          runs per process measurement (median; default 5)
 *   FOUNDATION_BENCH_HOSTS=100,1000,5000
 *
 * Measures:
 *  - validating a config with N hosts: `netboot check` (a whole process: Node
 *    start, YAML, schema, cross-checks, summary) against `dnsmasq --test` with
 *    the same hosts as dhcp-host lines and `kea-dhcp4 -t` with the same
 *    reservations; and netboot's loader alone, in-process;
 *  - the boot policy: decideBoot per DHCP request and decideBoot plus the
 *    iPXE script per HTTP request, with N hosts;
 *  - `netboot serve` on the example config (TFTP + HTTP on loopback): spawn to
 *    "netboot ready", and SIGTERM to exit (no work in flight).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const RUNS = Number(process.env.FOUNDATION_BENCH_RUNS ?? 5);
const SIZES = (process.env.FOUNDATION_BENCH_HOSTS ?? '100,1000,5000').split(',').map(Number).filter((n) => n > 0);
const cli = join(repo, 'dist/cli/main.js');
if (!existsSync(cli)) {
  console.error('bench/foundation.mjs: build first (npm run build)');
  process.exit(2);
}
const { loadConfigText } = await import(join(repo, 'dist/config/load.js'));
const { decideBoot } = await import(join(repo, 'dist/policy/boot-policy.js'));
const { identifyClient } = await import(join(repo, 'dist/policy/client-identity.js'));
const { renderIpxeScript } = await import(join(repo, 'dist/policy/render.js'));

const has = (name) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const scratch = mkdtempSync(join(tmpdir(), `netboot-bench-foundation-${process.pid}-`));
mkdirSync(join(scratch, 'tftpboot/demo'), { recursive: true });
writeFileSync(join(scratch, 'tftpboot/demo/vmlinuz'), '');
writeFileSync(join(scratch, 'tftpboot/demo/initrd.img'), '');
writeFileSync(join(scratch, 'answer.ks'), '# {{host.name}} {{host.mac}} {{host.ip}}\nurl {{httpBase}}\n%post\ncurl -X POST {{doneUrl}}\n%end\n');

const mac = (i) => `52:54:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const ipOf = (i) => `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${(i & 255) || 1}`;
// Hosts get 10.64.0.0/10 addresses 10.64.1.0 upwards; the pool is elsewhere in the subnet.
const hostIp = (i) => {
  const n = 256 + i;
  return `10.${64 + ((n >> 16) & 63)}.${(n >> 8) & 255}.${n & 255}`;
};

function netbootYaml(hosts) {
  const lines = [
    'server: { address: 10.64.0.1 }',
    'dhcp: { mode: authoritative, subnet: 10.64.0.0/10, pool: 10.100.0.10-10.100.255.250, router: 10.64.0.1, dns: [10.64.0.1], leaseFile: state/leases.json }',
    'tftp: { root: tftpboot }',
    'http: { listen: 127.0.0.1, port: 8080 }',
    'profiles:',
    '  install: { kernel: demo/vmlinuz, initrd: demo/initrd.img, cmdline: "ks={{kickstartUrl}} host={{host.name}}", kickstart: answer.ks }',
    '  local: { localboot: true }',
    'defaultProfile: local',
    'hosts:',
  ];
  for (let i = 0; i < hosts; i++) lines.push(`  - { name: node${i}, mac: "${mac(i)}", ip: ${hostIp(i)}, profile: install }`);
  return `${lines.join('\n')}\n`;
}

function dnsmasqConf(hosts) {
  const lines = ['port=0', 'dhcp-range=10.100.0.10,10.100.255.250,255.192.0.0,1h', 'dhcp-option=3,10.64.0.1', 'dhcp-boot=undionly.kpxe', 'enable-tftp', `tftp-root=${scratch}/tftpboot`];
  for (let i = 0; i < hosts; i++) lines.push(`dhcp-host=${mac(i)},${hostIp(i)},node${i}`);
  return `${lines.join('\n')}\n`;
}

function keaConf(hosts) {
  return JSON.stringify({
    Dhcp4: {
      'interfaces-config': { interfaces: [] },
      'lease-database': { type: 'memfile', persist: false },
      subnet4: [{
        id: 1,
        subnet: '10.64.0.0/10',
        pools: [{ pool: '10.100.0.10 - 10.100.255.250' }],
        'option-data': [{ name: 'routers', data: '10.64.0.1' }],
        'boot-file-name': 'undionly.kpxe',
        reservations: Array.from({ length: hosts }, (_, i) => ({ 'hw-address': mac(i), 'ip-address': hostIp(i), hostname: `node${i}` })),
      }],
    },
  });
}

function timeProcess(command, args, env = {}) {
  const times = [];
  let status = 0;
  for (let run = 0; run < RUNS; run++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { stdio: 'pipe', env: { ...process.env, ...env } });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    status = result.status ?? -1;
    if (status !== 0) return { ms: null, status, stderr: result.stderr.toString().slice(0, 300) };
  }
  return { ms: median(times), status };
}

const fmt = (ms) => (ms === null ? 'failed' : ms < 10 ? ms.toFixed(2) : ms.toFixed(0));
const ratio = (ours, theirs) => (ours === null || theirs === null ? '–' : `${(ours / theirs).toFixed(2)}×`);

const configRows = [];
for (const hosts of SIZES) {
  const yamlPath = join(scratch, `netboot-${hosts}.yaml`);
  writeFileSync(yamlPath, netbootYaml(hosts));
  const check = timeProcess(process.execPath, [cli, 'check', '--config', yamlPath]);
  if (check.ms === null) console.error(`netboot check failed for ${hosts} hosts: ${check.stderr}`);

  const text = netbootYaml(hosts);
  const inProcess = [];
  for (let run = 0; run < RUNS; run++) {
    const started = process.hrtime.bigint();
    const result = loadConfigText(text, yamlPath);
    inProcess.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (!result.ok) throw new Error(`bench config invalid: ${result.issues[0].message}`);
  }

  let dnsmasq = { ms: null };
  if (has('dnsmasq')) {
    const path = join(scratch, `dnsmasq-${hosts}.conf`);
    writeFileSync(path, dnsmasqConf(hosts));
    dnsmasq = timeProcess('dnsmasq', ['--test', `--conf-file=${path}`]);
  }
  let kea = { ms: null };
  if (has('kea-dhcp4')) {
    const path = join(scratch, `kea-${hosts}.json`);
    writeFileSync(path, keaConf(hosts));
    mkdirSync(join(scratch, 'kea'), { recursive: true });
    kea = timeProcess('kea-dhcp4', ['-t', path], { KEA_LOCKFILE_DIR: join(scratch, 'kea'), KEA_PIDFILE_DIR: join(scratch, 'kea'), KEA_LOG_FILE_DIR: join(scratch, 'kea') });
    if (kea.ms === null) console.error(`kea-dhcp4 -t failed: ${kea.stderr}`);
  }
  configRows.push({ hosts, check: check.ms, inProcess: median(inProcess), dnsmasq: dnsmasq.ms, kea: kea.ms });
  console.error(`config ${hosts} hosts: netboot check ${fmt(check.ms)} ms, loader ${fmt(median(inProcess))} ms, dnsmasq --test ${fmt(dnsmasq.ms)} ms, kea -t ${fmt(kea.ms)} ms`);
}

// The boot policy, as DHCP and HTTP call it.
const policyHosts = SIZES[SIZES.length - 1];
const loaded = loadConfigText(netbootYaml(policyHosts), join(scratch, 'policy.yaml'));
if (!loaded.ok) throw new Error('policy config invalid');
const config = loaded.config;
function opsPerSecond(fn, minMs = 400) {
  let ops = 0;
  const started = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 1000; i++) fn(ops++);
    elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  }
  return ops / (elapsed / 1000);
}
const facts = Array.from({ length: 1024 }, (_, i) => ({ mac: mac((i * 7919) % policyHosts), arch: i % 2 === 0 ? 0 : 7, vendorClass: 'PXEClient:Arch:00000:UNDI:002001', userClass: i % 3 === 0 ? 'iPXE' : null }));
const dhcpRate = median([0, 1, 2].map(() => opsPerSecond((i) => decideBoot(config, identifyClient(facts[i & 1023])))));
const httpRate = median([0, 1, 2].map(() => opsPerSecond((i) => {
  const decision = decideBoot(config, identifyClient({ mac: facts[i & 1023].mac, userClass: 'iPXE' }));
  return renderIpxeScript(config, decision);
})));
console.error(`policy: decideBoot ${dhcpRate.toFixed(0)}/s, decideBoot+iPXE script ${httpRate.toFixed(0)}/s`);

// serve lifecycle on the example config (TFTP + HTTP on loopback, DHCP off).
async function serveOnce() {
  const started = Date.now();
  const child = spawn(process.execPath, [cli, 'serve', '--config', join(repo, 'config/lab.example.yaml'), '--allow-missing'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const readyAt = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not become ready: ${out}`)), 15_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('"netboot ready"')) {
        clearTimeout(timer);
        resolve(Date.now());
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
  const signalled = Date.now();
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
  child.kill('SIGTERM');
  const { code, at } = await exited;
  return { readyMs: readyAt - started, stopMs: at - signalled, code };
}
const lifecycle = [];
try {
  for (let run = 0; run < RUNS; run++) lifecycle.push(await serveOnce());
} catch (error) {
  console.error(`serve lifecycle: ${error.message}`);
}
rmSync(scratch, { recursive: true, force: true });

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const lines = [
  '## Foundation: config validation, boot policy, serve lifecycle',
  '',
  `Run ${new Date().toISOString()} on ${cpus().length} cores (${cpu}), Node ${process.version}, load average ${loadavg()[0].toFixed(1)} at the end; \`node bench/foundation.mjs\`, medians of ${RUNS} runs. Whole-process times include Node's start and module loading and swing with the machine's load; read the ratios.`,
  '',
  '### Validating a config with N hosts (one reservation each), whole process, ms',
  '',
  'Each reference validates the same hosts in its own format: `dnsmasq --test` (dhcp-host lines; it checks syntax only: no duplicate, pool or file checks) and `kea-dhcp4 -t` (reservations in one subnet). `netboot check` also runs every cross-check, reads the answer-file template and prints a summary of every host.',
  '',
  'Most of netboot\'s loader time for large files is the `yaml` package parsing the document (with source positions, so every error can say line:col); schema and cross-checks are a small part.',
  '',
  '| hosts | netboot check | netboot loader in-process | dnsmasq --test | kea-dhcp4 -t | check / dnsmasq | check / kea |',
  '|---:|---:|---:|---:|---:|---:|---:|',
  ...configRows.map((row) => `| ${row.hosts} | ${fmt(row.check)} | ${fmt(row.inProcess)} | ${fmt(row.dnsmasq)} | ${fmt(row.kea)} | ${ratio(row.check, row.dnsmasq)} | ${ratio(row.check, row.kea)} |`),
  '',
  `### Boot policy with ${policyHosts} hosts (in-process, one core)`,
  '',
  '| call | per second |',
  '|---|---:|',
  `| decideBoot (what DHCP asks per DISCOVER/REQUEST) | ${Math.round(dhcpRate).toLocaleString('en')} |`,
  `| decideBoot + iPXE script (what HTTP does per /boot/<mac>.ipxe) | ${Math.round(httpRate).toLocaleString('en')} |`,
  '',
  'For scale: the reference figures put Kea at ~5,000 DORA/s on this kind of machine; the policy costs a small fraction of that budget.',
  '',
  '### `netboot serve` lifecycle (example config: TFTP + HTTP on loopback, DHCP off)',
  '',
  lifecycle.length === 0
    ? 'failed (see stderr)'
    : `spawn → "netboot ready": median ${median(lifecycle.map((run) => run.readyMs))} ms; SIGTERM → exit: median ${median(lifecycle.map((run) => run.stopMs))} ms (exit codes ${[...new Set(lifecycle.map((run) => run.code))].join(', ')}; the requirement is exit 0 within 2 s).`,
  '',
];
const text = lines.join('\n');
console.log(text);
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'foundation.md'), `${text}\n`);

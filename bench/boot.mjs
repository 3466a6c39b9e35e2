#!/usr/bin/env node
/**
 * Boot-time benchmark: a real QEMU machine network-boots to a marker
 * initramfs, served by netboot and by dnsmasq (DHCP + its own TFTP, plus a
 * tiny static HTTP server for the iPXE cases), side by side in one run: for
 * each case and run, the netboot machine and the dnsmasq machine boot at the
 * same moment in two separate bridge labs, so both see the same host load
 * (TCG speed varies a lot between hosts and minutes; see pxe-lab.md).
 *
 *   node bench/boot.mjs            (after `npm run build`; root; ~5-10 minutes under TCG)
 *
 * Environment:
 *   BOOT_BENCH_RUNS=2          runs per case and server (default 2)
 *   BOOT_BENCH_CASES=bios-pxelinux,bios-ipxe,uefi
 *   BOOT_BENCH_SEQUENTIAL=1    boot the two machines one after the other instead of together
 *   NETBOOT_E2E_ACCEL=kvm      use KVM where /dev/kvm exists (CI has none; default TCG)
 *
 * Writes bench/out/boot.md.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fillTftpRoot, bootFilesUnavailableReason, LAB_INITRD, LAB_KERNEL } from '../dist/tools/lab/boot-files.js';
import { createBridgeLab, hasProgram, labUnavailableReason, stopChild } from '../dist/tools/lab/bridge-lab.js';
import { dnsmasqArgs, writePxelinuxConfigFile } from '../dist/tools/lab/dnsmasq.js';
import { labCmdline } from '../dist/tools/lab/netboot-lab.js';
import { qemuUnavailableReason, startMachine } from '../dist/tools/lab/qemu.js';
import { startLabSession } from '../dist/tools/lab/session.js';

const here = dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.env.BOOT_BENCH_RUNS ?? 2);
const BOOT_TIMEOUT_MS = 300_000;
const ALL_CASES = [
  { id: 'bios-pxelinux', title: 'BIOS + pxelinux (all TFTP)', firmware: 'bios', profile: 'pxelinux-marker' },
  { id: 'bios-ipxe', title: 'BIOS iPXE ROM + HTTP', firmware: 'bios', profile: 'ipxe-marker' },
  { id: 'uefi', title: 'UEFI OVMF + snponly.efi (TFTP) + HTTP', firmware: 'uefi', profile: 'ipxe-marker' },
];
const wanted = (process.env.BOOT_BENCH_CASES ?? ALL_CASES.map((c) => c.id).join(',')).split(',');
const CASES = ALL_CASES.filter((c) => wanted.includes(c.id));

function unavailable() {
  return labUnavailableReason() ?? qemuUnavailableReason('bios') ?? qemuUnavailableReason('uefi') ?? bootFilesUnavailableReason()
    ?? (hasProgram('dnsmasq') ? null : 'needs dnsmasq (apt-get install dnsmasq-base)')
    ?? (hasProgram('curl') ? null : 'needs curl');
}

/** The cmdline netboot renders for host `bench` (the mustache part filled in by hand for dnsmasq). */
function renderedCmdline(profile) {
  return labCmdline(profile).replace('{{host.name}}', 'bench');
}

async function bootWithNetboot(testCase, subnetIndex, mac) {
  const session = await startLabSession({ tag: `bb${subnetIndex}`, subnetIndex, hosts: [{ name: 'bench', mac, profile: testCase.profile }], defaultProfile: null, loaders: 'copy' });
  try {
    const machine = session.boot(testCase.firmware, mac);
    const marker = await machine.waitForMarker(session.token, BOOT_TIMEOUT_MS);
    const events = await session.events(mac);
    const firstAck = events.find((event) => event.kind === 'dhcp.ack');
    return { ms: marker.elapsedMs, ackMs: firstAck ? firstAck.time - machine.startedAt : null };
  } finally {
    await session.destroy();
  }
}

async function waitForOutput(child, pattern, timeoutMs, what) {
  let seen = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${seen.slice(-500)}`)), timeoutMs);
    const onData = (chunk) => {
      seen += chunk.toString();
      if (pattern.test(seen)) { clearTimeout(timer); resolve(); }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited (${code}): ${seen.slice(-500)}`)); });
  });
}

async function bootWithDnsmasq(testCase, subnetIndex, mac) {
  const dir = mkdtempSync(join(tmpdir(), 'netboot-bench-dnsmasq-'));
  const token = `dm${subnetIndex}-${Date.now().toString(36)}`;
  const tftpRoot = join(dir, 'tftp');
  fillTftpRoot(tftpRoot, token);
  const lab = createBridgeLab(`bd${subnetIndex}`, subnetIndex);
  const base = `http://${lab.serverAddress}`;
  const cmdline = renderedCmdline(testCase.profile);
  // The same files netboot generates, written out for dnsmasq.
  writePxelinuxConfigFile(tftpRoot, mac, ['DEFAULT netboot', 'PROMPT 0', 'TIMEOUT 0', 'LABEL netboot', `  KERNEL ${LAB_KERNEL}`, `  INITRD ${LAB_INITRD}`, `  APPEND ${cmdline}`, ''].join('\n'));
  mkdirSync(join(dir, 'boot'));
  writeFileSync(join(dir, 'boot', 'bench.ipxe'), ['#!ipxe', `initrd --name initrd.img ${base}/tftp/${LAB_INITRD}`, `kernel ${base}/tftp/${LAB_KERNEL} initrd=initrd.img ${cmdline}`, 'boot', ''].join('\n'));
  const children = [];
  let machine = null;
  try {
    const http = lab.spawn(process.execPath, [join(here, '..', 'dist', 'tools', 'lab', 'static-server.js'), dir, lab.serverAddress, '80']);
    children.push(http);
    await waitForOutput(http, /listening/, 60_000, 'static HTTP server');
    const dnsmasq = lab.spawn('dnsmasq', dnsmasqArgs({
      bridge: lab.bridge, serverAddress: lab.serverAddress, prefix: lab.prefix, tftpRoot, leaseFile: join(dir, 'leases'),
      ipxeScriptUrl: testCase.profile === 'ipxe-marker' ? `${base}/boot/bench.ipxe` : null,
      biosBootFile: 'pxelinux.0', uefiBootFile: 'snponly.efi',
    }));
    children.push(dnsmasq);
    await waitForOutput(dnsmasq, /DHCP, IP range/, 60_000, 'dnsmasq');
    const tap = lab.addTap('nbtap0');
    machine = startMachine(lab.namespace, { firmware: testCase.firmware, tap, mac, workDir: dir });
    const marker = await machine.waitForMarker(token, BOOT_TIMEOUT_MS);
    return { ms: marker.elapsedMs, ackMs: null };
  } finally {
    await machine?.stop();
    for (const child of children) await stopChild(child);
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (ms) => (ms === null || ms === undefined ? 'failed' : (ms / 1000).toFixed(1));
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

async function main() {
  const reason = unavailable();
  const machineLine = `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
  const date = new Date().toISOString();
  if (reason) {
    const text = `## Boot time: netboot vs dnsmasq (QEMU)\n\nNot run on ${date} (${machineLine}): ${reason}.\n`;
    mkdirSync(join(here, 'out'), { recursive: true });
    writeFileSync(join(here, 'out', 'boot.md'), text);
    console.log(text);
    return 0;
  }
  const load = loadavg().map((value) => value.toFixed(1)).join(' ');
  const rows = [];
  let subnet = 20;
  for (const testCase of CASES) {
    const results = { netboot: [], dnsmasq: [] };
    for (let run = 1; run <= RUNS; run++) {
      const netbootSubnet = subnet++;
      const dnsmasqSubnet = subnet++;
      const mac = `52:54:00:77:${netbootSubnet.toString(16).padStart(2, '0')}:10`;
      const dmac = `52:54:00:77:${dnsmasqSubnet.toString(16).padStart(2, '0')}:10`;
      const attempt = (promise, server) => promise.catch((error) => {
        console.error(`${testCase.id} run ${run} ${server} failed: ${error.message.split('\n')[0]}`);
        return { ms: null, ackMs: null };
      });
      let pair;
      if (process.env.BOOT_BENCH_SEQUENTIAL) {
        pair = [await attempt(bootWithNetboot(testCase, netbootSubnet, mac), 'netboot'), await attempt(bootWithDnsmasq(testCase, dnsmasqSubnet, dmac), 'dnsmasq')];
      } else {
        pair = await Promise.all([attempt(bootWithNetboot(testCase, netbootSubnet, mac), 'netboot'), attempt(bootWithDnsmasq(testCase, dnsmasqSubnet, dmac), 'dnsmasq')]);
      }
      results.netboot.push(pair[0]);
      results.dnsmasq.push(pair[1]);
      console.log(`${testCase.id} run ${run}: netboot ${fmt(pair[0].ms)} s (DHCP ACK at ${fmt(pair[0].ackMs)} s), dnsmasq ${fmt(pair[1].ms)} s`);
    }
    const ok = (list) => list.map((r) => r.ms).filter((ms) => ms !== null);
    const nb = ok(results.netboot);
    const dm = ok(results.dnsmasq);
    const ratio = nb.length && dm.length ? (mean(nb) / mean(dm)).toFixed(2) : 'n/a';
    const delta = nb.length && dm.length ? ((mean(nb) - mean(dm)) / 1000).toFixed(1) : 'n/a';
    rows.push(`| ${testCase.title} | ${results.netboot.map((r) => fmt(r.ms)).join(', ')} | ${results.dnsmasq.map((r) => fmt(r.ms)).join(', ')} | ${delta} | ${ratio} |`);
  }
  const text = [
    '## Boot time: netboot vs dnsmasq (QEMU, real firmware)',
    '',
    `Run ${date} on ${machineLine}; load average at start ${load}. \`node bench/boot.mjs\` (root), ${RUNS} run(s) per case and server,`,
    `${process.env.BOOT_BENCH_SEQUENTIAL ? 'one machine at a time' : 'the netboot machine and the dnsmasq machine booting at the same moment in two separate bridge labs (same host load)'},`,
    `QEMU ${process.env.NETBOOT_E2E_ACCEL === 'kvm' ? 'KVM' : 'TCG (no KVM, as in CI)'}. Seconds from QEMU start to the marker line the booted initramfs prints.`,
    'dnsmasq 2.90: DHCP + its own TFTP, `--no-ping`, plus a minimal Node static HTTP server for the iPXE cases; it serves the same files',
    'netboot generates (pxelinux.cfg/01-<mac>, the iPXE script) written out as static files.',
    '',
    '| case | netboot (s) | dnsmasq (s) | mean difference (s) | ratio netboot/dnsmasq |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  mkdirSync(join(here, 'out'), { recursive: true });
  writeFileSync(join(here, 'out', 'boot.md'), text);
  console.log(`\n${text}`);
  return 0;
}

process.exitCode = await main();

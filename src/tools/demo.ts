/**
 * `npm run demo`: one command that shows netboot boot a real machine.
 * Builds a throwaway bridge lab (namespace + bridge + tap, no route out),
 * fills a TFTP root with the boot loaders (`netboot init`), the distro's kernel
 * and a marker initramfs, serves it with `netboot serve`, boots a QEMU BIOS
 * machine (iPXE ROM) and prints each step as netboot reports it: DHCP, each
 * file, the kernel starting, the marker its /init prints. Then tears it all
 * down, also on Ctrl-C. Needs root (namespaces, tap devices).
 *
 *   npm run demo                  BIOS, iPXE profile: script and files over HTTP
 *   npm run demo -- --pxelinux    BIOS, pxelinux profile: everything over TFTP
 *   npm run demo -- --uefi        UEFI (OVMF): snponly.efi over TFTP, then HTTP
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bootFilesUnavailableReason } from './lab/boot-files.js';
import { labUnavailableReason, hasProgram } from './lab/bridge-lab.js';
import { NETBOOT_CLI, type LabEvent } from './lab/netboot-lab.js';
import { qemuUnavailableReason, type MachineFirmware } from './lab/qemu.js';
import { startLabSession, type LabSession } from './lab/session.js';

const DEMO_MAC = '52:54:00:77:00:10';
const BOOT_TIMEOUT_MS = 300_000;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1).padStart(5)} s`;
}

function describeEvent(event: LabEvent): string {
  const details = event.details ?? {};
  switch (event.kind) {
    case 'dhcp.offer':
    case 'dhcp.ack':
      return `DHCP ${event.kind === 'dhcp.offer' ? 'OFFER' : 'ACK  '} ${event.ip ?? ''} (${String(details.firmware ?? '')}) boot file ${String(details.bootFile ?? '-')}`;
    case 'tftp.start':
      return `TFTP  sending ${event.message} (${String(details.size ?? '?')} bytes, blksize ${String(details.blksize ?? '?')})`;
    case 'tftp.done':
      return `TFTP  sent    ${event.message} in ${String(details.durationMs ?? '?')} ms`;
    case 'http.script':
      return `HTTP  iPXE script: ${event.message}`;
    case 'http.file':
      return `HTTP  sending ${String(details.file ?? event.message)} (${String(details.bytes ?? '?')} bytes)`;
    default:
      return `${event.kind} ${event.message}`;
  }
}

function usageProblem(firmware: MachineFirmware): string | null {
  if (process.getuid?.() !== 0) return 'needs root: it creates a network namespace, a bridge and a tap device for QEMU. Run: sudo npm run demo';
  const lab = labUnavailableReason();
  if (lab) return `the demo ${lab}`;
  const qemu = qemuUnavailableReason(firmware);
  if (qemu) return `the demo ${qemu}`;
  const files = bootFilesUnavailableReason();
  if (files) return `the demo needs boot files: ${files}`;
  if (!hasProgram('curl')) return 'the demo needs curl (apt-get install curl)';
  if (!existsSync(NETBOOT_CLI)) return `the demo needs the built CLI ${NETBOOT_CLI}: run npm run build`;
  return null;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { uefi: { type: 'boolean' }, pxelinux: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('usage: npm run demo [-- --uefi | --pxelinux]   (needs root)\n');
    return 0;
  }
  const firmware: MachineFirmware = values.uefi ? 'uefi' : 'bios';
  const profile = values.pxelinux ? 'pxelinux-marker' : 'ipxe-marker';
  const problem = usageProblem(firmware);
  if (problem) {
    process.stderr.write(`netboot demo: ${problem}\n`);
    return 1;
  }

  const log = (line: string): void => { process.stdout.write(`${line}\n`); };
  log(`netboot demo: a ${firmware === 'uefi' ? 'UEFI (OVMF)' : 'BIOS (SeaBIOS + iPXE ROM)'} machine boots profile ${profile} from netboot`);
  log('building the lab: network namespace, bridge 10.77.0.1/24, tap; TFTP root from `netboot init` + kernel + marker initramfs');
  let session: LabSession | null = null;
  let stopping = false;
  const teardown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (session) {
      log('tearing down: QEMU, netboot, namespace');
      await session.destroy();
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`\n${signal}: stopping`);
    void teardown().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    session = await startLabSession({
      tag: 'demo', subnetIndex: 0, loaders: 'netboot-init', defaultProfile: 'local',
      hosts: [{ name: 'demo-node', mac: DEMO_MAC, profile }],
    });
    log(`netboot serve is ready (config ${session.dir}/netboot.yaml, API ${session.baseUrl}/api/status)`);
    const machine = session.boot(firmware, DEMO_MAC);
    log(`${seconds(0)}  QEMU started: MAC ${DEMO_MAC}, network boot, serial console ${machine.serialFile}`);

    const markerPromise = machine.waitForMarker(session.token, BOOT_TIMEOUT_MS);
    let seen = 0;
    let kernelSeen = false;
    let finished = false;
    const poll = async (): Promise<void> => {
      while (!finished && session) {
        try {
          const events = await session.events(DEMO_MAC);
          for (const event of events.slice(seen)) log(`${seconds(event.time - machine.startedAt)}  ${describeEvent(event)}`);
          seen = events.length;
        } catch { /* netboot busy; next poll */ }
        if (!kernelSeen && /Linux version/.test(machine.serial())) {
          kernelSeen = true;
          log(`${seconds(Date.now() - machine.startedAt)}  kernel started (serial: "Linux version ...")`);
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };
    const polling = poll();
    const marker = await markerPromise;
    finished = true;
    await polling;
    const late = await session.events(DEMO_MAC);
    for (const event of late.slice(seen)) log(`${seconds(event.time - machine.startedAt)}  ${describeEvent(event)}`);
    log(`${seconds(marker.elapsedMs)}  marker from the booted initramfs: ${marker.line}`);
    log(`booted in ${(marker.elapsedMs / 1000).toFixed(1)} s from QEMU start to the marker (${process.env.NETBOOT_E2E_ACCEL === 'kvm' ? 'KVM' : 'TCG, no KVM'})`);
    await teardown();
    return 0;
  } catch (error) {
    process.stderr.write(`netboot demo failed: ${(error as Error).message}\n`);
    if (session) process.stderr.write(`netboot output (tail):\n${session.netboot.output().slice(-2000)}\n`);
    await teardown();
    return 1;
  }
}

process.exitCode = await main();

/**
 * One lab boot session with netboot as the server: a bridge lab, a TFTP root
 * (loaders from `netboot init`, the distro kernel, a marker initramfs), a
 * generated config, `netboot serve` in the namespace, and QEMU machines on
 * taps. Shared by the e2e tests and `npm run demo`; `destroy()` undoes all of
 * it, killing only the processes it started, by PID.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addKernelAndInitrd, fillTftpRoot } from './boot-files.js';
import { createBridgeLab, removeStaleLabs, stopChild, type BridgeLab } from './bridge-lab.js';
import { fetchEvents, labRequest, NETBOOT_CLI, startNetboot, writeLabConfig, type ApiResponse, type LabEvent, type LabHost, type RunningNetboot } from './netboot-lab.js';
import { startMachine, type MachineFirmware, type RunningMachine } from './qemu.js';

export interface LabSessionOptions {
  /** Short name, part of the namespace name (with the pid). */
  tag: string;
  /** N in 10.77.N.0/24; distinct per concurrent session. */
  subnetIndex: number;
  hosts: LabHost[];
  defaultProfile: string | null;
  /** Fill the TFTP root with `netboot init` (the tests: it is part of what is tested) or by copying (default). */
  loaders?: 'netboot-init' | 'copy';
  keepDir?: boolean;
}

export interface LabSession {
  lab: BridgeLab;
  dir: string;
  tftpRoot: string;
  /** The marker token the initramfs prints. */
  token: string;
  apiToken: string;
  netboot: RunningNetboot;
  baseUrl: string;
  /** Boots a machine on a new tap. */
  boot(firmware: MachineFirmware, mac: string): RunningMachine;
  events(mac?: string): Promise<LabEvent[]>;
  request(path: string, options?: { method?: string; token?: string; body?: string }): Promise<ApiResponse>;
  destroy(): Promise<void>;
}

export async function startLabSession(options: LabSessionOptions): Promise<LabSession> {
  removeStaleLabs();
  const dir = mkdtempSync(join(tmpdir(), `netboot-lab-${options.tag}-`));
  const token = `${options.tag}-${randomBytes(6).toString('hex')}`;
  const apiToken = randomBytes(16).toString('hex');
  const tftpRoot = join(dir, 'tftp');
  const machines: RunningMachine[] = [];
  let lab: BridgeLab | null = null;
  let netboot: RunningNetboot | null = null;
  const destroy = async (): Promise<void> => {
    await Promise.all(machines.map((machine) => machine.stop()));
    if (netboot) await stopChild(netboot.child);
    lab?.destroy();
    if (!options.keepDir && !process.env.NETBOOT_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (options.loaders === 'netboot-init') {
      execFileSync(process.execPath, [NETBOOT_CLI, 'init', '--dir', tftpRoot], { stdio: 'pipe' });
      addKernelAndInitrd(tftpRoot, token);
    } else {
      fillTftpRoot(tftpRoot, token);
    }
    lab = createBridgeLab(options.tag, options.subnetIndex);
    const configFile = writeLabConfig({ lab, dir, tftpRoot, hosts: options.hosts, defaultProfile: options.defaultProfile, apiToken });
    netboot = await startNetboot(lab, configFile);
  } catch (error) {
    await destroy();
    throw error;
  }
  const readyLab = lab;
  const readyNetboot = netboot;
  let taps = 0;
  return {
    lab: readyLab,
    dir,
    tftpRoot,
    token,
    apiToken,
    netboot: readyNetboot,
    baseUrl: readyNetboot.baseUrl,
    boot(firmware, mac) {
      const tap = readyLab.addTap(`nbtap${taps++}`);
      const machine = startMachine(readyLab.namespace, { firmware, tap, mac, workDir: dir });
      machines.push(machine);
      return machine;
    },
    events: (mac) => fetchEvents(readyLab, readyNetboot.baseUrl, mac),
    request: (path, requestOptions) => labRequest(readyLab, `${readyNetboot.baseUrl}${path}`, requestOptions),
    destroy,
  };
}

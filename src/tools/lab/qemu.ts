/**
 * Boots a QEMU machine from the network inside a bridge lab and watches its
 * serial console (written to a file) for the initramfs marker.
 *
 * Command lines are the ones measured in shared/notes/pxe-lab.md:
 * - BIOS: SeaBIOS + the e1000's iPXE option ROM (sends option 93 = 0, user class "iPXE", option 175);
 * - UEFI: OVMF's own PXE stack on virtio-net with no option ROM (option 93 = 7,
 *   vendor class PXEClient:Arch:00007), then whatever EFI loader it is handed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findMarker } from './initramfs.js';

export type MachineFirmware = 'bios' | 'uefi';

export const BIOS_NIC_ROM = '/usr/lib/ipxe/qemu/efi-e1000.rom';
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

/** Why QEMU machines of this firmware cannot boot here, or null. */
export function qemuUnavailableReason(firmware: MachineFirmware): string | null {
  if (!existsSync('/usr/bin/qemu-system-x86_64')) return 'needs qemu-system-x86_64 (apt-get install qemu-system-x86)';
  if (firmware === 'bios' && !existsSync(BIOS_NIC_ROM)) return `needs ${BIOS_NIC_ROM} (apt-get install ipxe-qemu)`;
  if (firmware === 'uefi' && (!existsSync(OVMF_CODE) || !existsSync(OVMF_VARS))) return `needs ${OVMF_CODE} (apt-get install ovmf)`;
  return null;
}

export interface MachineSpec {
  firmware: MachineFirmware;
  /** Tap device in the lab's namespace. */
  tap: string;
  mac: string;
  /** Folder for the serial log and OVMF's writable variable store. */
  workDir: string;
  memoryMb?: number;
  /** 'tcg' (default, what CI has) or 'kvm'. NETBOOT_E2E_ACCEL overrides the default. */
  accel?: 'tcg' | 'kvm';
  /**
   * UEFI only: which of OVMF's network boot entries runs. 'pxe' (default): OVMF's order,
   * "UEFI PXEv4" first (option 93 = 7, TFTP). 'http': PXEv4 and PXEv6 switched off through
   * fw_cfg, so "UEFI HTTPv4" runs at once (option 93 = 16, vendor class HTTPClient); left on,
   * PXEv4 and PXEv6 time out first and HTTP boot starts only after ~2 minutes (pxe-lab.md).
   */
  uefiNetworkBoot?: 'pxe' | 'http';
}

/** OVMF's fw_cfg switches (OvmfPkg PlatformDxe reads opt/org.tianocore/*) that leave only UEFI HTTP boot. */
export const OVMF_HTTP_BOOT_ONLY_ARGS = [
  '-fw_cfg', 'name=opt/org.tianocore/IPv4PXESupport,string=n',
  '-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=n',
];

/** The qemu-system-x86_64 arguments for one network-booting machine. */
export function qemuArgs(spec: MachineSpec, serialFile: string, varsFile: string): string[] {
  const accel = spec.accel ?? (process.env.NETBOOT_E2E_ACCEL === 'kvm' ? 'kvm' : 'tcg');
  const common = [
    '-accel', accel, '-m', String(spec.memoryMb ?? 512),
    '-display', 'none', '-monitor', 'none', '-serial', `file:${serialFile}`,
    '-no-reboot', '-boot', 'n',
    '-netdev', `tap,id=net0,ifname=${spec.tap},script=no,downscript=no`,
  ];
  if (spec.firmware === 'bios') {
    return ['-machine', 'pc', ...common, '-device', `e1000,netdev=net0,mac=${spec.mac},romfile=${BIOS_NIC_ROM},bootindex=1`];
  }
  return [
    '-machine', 'q35', ...common,
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${varsFile}`,
    // romfile= (empty): no iPXE ROM, so OVMF's own PXE client does the first step.
    '-device', `virtio-net-pci,netdev=net0,mac=${spec.mac},romfile=,bootindex=1`,
    ...(spec.uefiNetworkBoot === 'http' ? OVMF_HTTP_BOOT_ONLY_ARGS : []),
  ];
}

export interface RunningMachine {
  child: ChildProcess;
  serialFile: string;
  startedAt: number;
  /** Serial output so far. */
  serial(): string;
  /** Resolves when the marker line with `token` is on the console (elapsed ms since QEMU start), rejects on exit or timeout. */
  waitForMarker(token: string, timeoutMs: number): Promise<{ line: string; cmdline: string; elapsedMs: number }>;
  /** Resolves when QEMU has exited (it powers off after the marker). */
  exited(): Promise<number | null>;
  /** Kills QEMU by PID (idempotent). */
  stop(): Promise<void>;
}

/** Starts QEMU in `namespace` (through `ip netns exec`, which execs QEMU in place, so the PID is QEMU's). */
export function startMachine(namespace: string, spec: MachineSpec): RunningMachine {
  const serialFile = join(spec.workDir, `serial-${spec.mac.replace(/:/g, '')}.log`);
  const varsFile = join(spec.workDir, `OVMF_VARS-${spec.mac.replace(/:/g, '')}.fd`);
  writeFileSync(serialFile, '');
  if (spec.firmware === 'uefi') copyFileSync(OVMF_VARS, varsFile);
  const startedAt = Date.now();
  const child = spawn('ip', ['netns', 'exec', namespace, 'qemu-system-x86_64', ...qemuArgs(spec, serialFile, varsFile)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
  const exitPromise = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
  });
  const serial = (): string => {
    try { return readFileSync(serialFile, 'latin1'); } catch { return ''; }
  };
  let exited = false;
  void exitPromise.then(() => { exited = true; });

  return {
    child,
    serialFile,
    startedAt,
    serial,
    exited: () => exitPromise,
    async stop() {
      if (exited || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exitPromise;
    },
    waitForMarker(token, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = findMarker(serial(), token);
          if (found) {
            finish();
            resolve({ ...found, elapsedMs: Date.now() - startedAt });
            return true;
          }
          return false;
        };
        const poll = setInterval(check, 50);
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no marker ${token} within ${timeoutMs} ms; serial tail:\n${serial().slice(-1500)}`));
        }, timeoutMs);
        const onExit = (): void => {
          if (check()) return;
          finish();
          reject(new Error(`QEMU exited (code ${child.exitCode}) before the marker; stderr: ${stderr.trim()}\nserial tail:\n${serial().slice(-1500)}`));
        };
        const finish = (): void => {
          clearInterval(poll);
          clearTimeout(timer);
          child.off('exit', onExit);
        };
        child.once('exit', onExit);
        if (exited) onExit();
      });
    },
  };
}

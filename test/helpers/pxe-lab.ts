/**
 * The bridge + tap lab where e2e tests boot QEMU machines from netboot. The
 * logic lives in src/tools/lab/ so `npm run demo` and bench/boot.mjs use the
 * same code; this adds the one question tests ask first: can it run here?
 */
import { existsSync } from 'node:fs';
import { bootFilesUnavailableReason } from '../../src/tools/lab/boot-files.js';
import { hasProgram, labUnavailableReason } from '../../src/tools/lab/bridge-lab.js';
import { NETBOOT_CLI, type LabEvent } from '../../src/tools/lab/netboot-lab.js';
import { qemuUnavailableReason, type MachineFirmware } from '../../src/tools/lab/qemu.js';

export { createBridgeLab, labUnavailableReason, stopChild } from '../../src/tools/lab/bridge-lab.js';
export type { BridgeLab } from '../../src/tools/lab/bridge-lab.js';
export { fillTftpRoot, addKernelAndInitrd, findKernel, LAB_INITRD, LAB_KERNEL } from '../../src/tools/lab/boot-files.js';
export { labConfigYaml, labCmdline, fetchEvents, labRequest, startNetboot, writeLabConfig, NETBOOT_CLI } from '../../src/tools/lab/netboot-lab.js';
export type { LabEvent, LabHost } from '../../src/tools/lab/netboot-lab.js';
export { startLabSession } from '../../src/tools/lab/session.js';
export type { LabSession } from '../../src/tools/lab/session.js';

/** Why e2e boots of this firmware cannot run here (printed as the skip reason), or null when they can. */
export function e2eUnavailableReason(firmwares: MachineFirmware[]): string | null {
  const lab = labUnavailableReason();
  if (lab) return lab;
  for (const firmware of firmwares) {
    const qemu = qemuUnavailableReason(firmware);
    if (qemu) return qemu;
  }
  const files = bootFilesUnavailableReason();
  if (files) return files;
  if (!hasProgram('curl')) return 'needs curl (reads netboot\'s API from inside the lab namespace)';
  if (!existsSync(NETBOOT_CLI)) return `needs the built CLI ${NETBOOT_CLI} (npm run build)`;
  return null;
}

/**
 * Upper bound for one boot under TCG. Measured here: 25-160 s (BIOS pxelinux,
 * BIOS iPXE, UEFI) on a loaded 2-core box; pxe-lab.md saw 34 s on a slow one.
 */
export const BOOT_TIMEOUT_MS = 300_000;

/** Polls netboot's events for a MAC until `done(events)` is true, or throws with what was seen. */
export async function waitForEvents(read: () => Promise<LabEvent[]>, done: (events: LabEvent[]) => boolean, timeoutMs: number, what: string): Promise<LabEvent[]> {
  const deadline = Date.now() + timeoutMs;
  let events: LabEvent[] = [];
  while (Date.now() < deadline) {
    events = await read();
    if (done(events)) return events;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what} not seen within ${timeoutMs} ms; events: ${events.map((event) => `${event.kind} ${event.message}`).join(' | ')}`);
}

/** One line per event, for failure messages and the test log. */
export function describeEvents(events: LabEvent[]): string {
  return events.map((event) => `${event.kind} ${event.outcome} ${event.message}`).join('\n');
}

/**
 * Real firmware boots from netboot (issue 6), BIOS half: SeaBIOS with the
 * e1000's iPXE option ROM, in a bridge + tap lab of its own per case. Each
 * case checks the initramfs marker on the serial console (the kernel and
 * initrd netboot chose really booted, with the profile's cmdline) and
 * netboot's /api/events for that MAC (which service served which step).
 *
 * Skips with the reason where it cannot run (not root, no QEMU, no netns,
 * CLI not built); CI runs as root with everything installed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BOOT_TIMEOUT_MS, describeEvents, e2eUnavailableReason, startLabSession, type LabEvent, type LabSession } from '../helpers/pxe-lab.js';

const unavailable = e2eUnavailableReason(['bios']);
if (unavailable) console.warn(`e2e BIOS boots skipped: ${unavailable}`);

const sessions: LabSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.destroy()));
});

function kinds(events: LabEvent[], kind: string): LabEvent[] {
  return events.filter((event) => event.kind === kind);
}

describe('e2e: BIOS machines boot from netboot', () => {
  it.skipIf(unavailable)('BIOS + pxelinux: pxelinux.0, its generated pxelinux.cfg/01-<mac>, then kernel + initrd over TFTP', async () => {
    const mac = '52:54:00:77:11:10';
    const session = await startLabSession({
      tag: 'pxl', subnetIndex: 11, loaders: 'netboot-init', defaultProfile: null,
      hosts: [{ name: 'bios-pxl', mac, profile: 'pxelinux-marker' }],
    });
    sessions.push(session);

    const machine = session.boot('bios', mac);
    const marker = await machine.waitForMarker(session.token, BOOT_TIMEOUT_MS);
    console.info(`e2e BIOS pxelinux: QEMU start to marker ${(marker.elapsedMs / 1000).toFixed(1)} s`);

    // The cmdline pxelinux passed is the profile's, rendered for this host.
    expect(marker.cmdline).toContain('netboot.host=bios-pxl');
    expect(marker.cmdline).toContain('netboot.profile=pxelinux-marker');
    expect(marker.cmdline).toContain('initrd=lab/initrd.img');

    const events = await session.events(mac);
    const story = describeEvents(events);
    const ack = kinds(events, 'dhcp.ack').at(-1);
    expect(ack?.details?.bootFile, story).toBe('pxelinux.0');
    expect(ack?.details?.firmware, story).toMatch(/bios/);
    const served = kinds(events, 'tftp.done').map((event) => event.message);
    expect(served, story).toEqual(expect.arrayContaining([
      'pxelinux.0', 'ldlinux.c32', 'pxelinux.cfg/01-52-54-00-77-11-10', 'lab/vmlinuz', 'lab/initrd.img',
    ]));
    // pxelinux stops at the first config that exists: the per-MAC one, so it never asked for `default`.
    expect(served, story).not.toContain('pxelinux.cfg/default');
    expect(kinds(events, 'tftp.failed'), story).toEqual([]);
    expect(kinds(events, 'http.file'), story).toEqual([]);
  }, BOOT_TIMEOUT_MS + 60_000);

  it.skipIf(unavailable)('BIOS iPXE: the NIC ROM is recognised (77/175), handed its script URL, kernel + initrd over HTTP', async () => {
    const mac = '52:54:00:77:12:10';
    const session = await startLabSession({
      tag: 'ipx', subnetIndex: 12, loaders: 'netboot-init', defaultProfile: null,
      hosts: [{ name: 'bios-ipxe', mac, profile: 'ipxe-marker' }],
    });
    sessions.push(session);

    const machine = session.boot('bios', mac);
    const marker = await machine.waitForMarker(session.token, BOOT_TIMEOUT_MS);
    console.info(`e2e BIOS iPXE: QEMU start to marker ${(marker.elapsedMs / 1000).toFixed(1)} s`);

    expect(marker.cmdline).toContain('netboot.host=bios-ipxe');
    expect(marker.cmdline).toContain('netboot.profile=ipxe-marker');

    const events = await session.events(mac);
    const story = describeEvents(events);
    const ack = kinds(events, 'dhcp.ack').at(-1);
    // The ROM is iPXE already: no undionly.kpxe detour, straight to its script.
    expect(ack?.details?.bootFile, story).toBe(`${session.baseUrl}/boot/${mac}.ipxe`);
    expect(ack?.details?.firmware, story).toMatch(/ipxe/);
    expect(kinds(events, 'http.script').map((event) => event.details?.localBoot), story).toEqual([false]);
    const files = kinds(events, 'http.file').filter((event) => event.outcome === 'ok').map((event) => event.details?.file);
    expect(files, story).toEqual(expect.arrayContaining(['/tftp/lab/vmlinuz', '/tftp/lab/initrd.img']));
    expect(kinds(events, 'tftp.start'), story).toEqual([]);
  }, BOOT_TIMEOUT_MS + 60_000);
});

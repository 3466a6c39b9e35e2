/**
 * Real firmware boots from netboot (issue 6), second half: UEFI (OVMF's own
 * PXE, option 93 = 7) chaining to iPXE without a loop, and machines that must
 * boot from their local disk: an unknown one on the default profile, and a
 * boot-once host whose install was reported done. Each case has its own
 * bridge + tap lab; see boot-bios.test.ts for the other two cases.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BOOT_TIMEOUT_MS, describeEvents, e2eUnavailableReason, startLabSession, waitForEvents, type LabEvent, type LabSession } from '../helpers/pxe-lab.js';

const uefiUnavailable = e2eUnavailableReason(['uefi']);
const biosUnavailable = e2eUnavailableReason(['bios']);
if (uefiUnavailable) console.warn(`e2e UEFI boot skipped: ${uefiUnavailable}`);
if (biosUnavailable) console.warn(`e2e local-boot cases skipped: ${biosUnavailable}`);

const sessions: LabSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.destroy()));
});

function kinds(events: LabEvent[], kind: string): LabEvent[] {
  return events.filter((event) => event.kind === kind);
}

describe('e2e: UEFI and local boot', () => {
  it.skipIf(uefiUnavailable)('UEFI (OVMF, 93=7): snponly.efi over TFTP, then as iPXE its HTTP script (no loop), kernel + initrd over HTTP', async () => {
    const mac = '52:54:00:77:13:10';
    const session = await startLabSession({
      tag: 'efi', subnetIndex: 13, loaders: 'netboot-init', defaultProfile: null,
      hosts: [{ name: 'uefi-ipxe', mac, profile: 'ipxe-marker' }],
    });
    sessions.push(session);

    const machine = session.boot('uefi', mac);
    const marker = await machine.waitForMarker(session.token, BOOT_TIMEOUT_MS);
    console.info(`e2e UEFI: QEMU start to marker ${(marker.elapsedMs / 1000).toFixed(1)} s`);

    expect(marker.cmdline).toContain('netboot.host=uefi-ipxe');
    expect(marker.cmdline).toContain('netboot.profile=ipxe-marker');
    // The EFI stub found the initrd iPXE loaded by this name.
    expect(marker.cmdline).toContain('initrd=initrd.img');

    const events = await session.events(mac);
    const story = describeEvents(events);
    const bootFiles = kinds(events, 'dhcp.ack').map((event) => event.details?.bootFile);
    // First the firmware's PXE gets the EFI iPXE over TFTP; then iPXE, asking again, gets its script.
    expect(bootFiles[0], story).toBe('snponly.efi');
    expect(bootFiles.at(-1), story).toBe(`${session.baseUrl}/boot/${mac}.ipxe`);
    expect(kinds(events, 'dhcp.ack')[0]?.details?.firmware, story).toMatch(/uefi-x64/);
    // No loop: snponly.efi went out exactly once.
    expect(kinds(events, 'tftp.done').filter((event) => event.message === 'snponly.efi'), story).toHaveLength(1);
    expect(kinds(events, 'http.script'), story).toHaveLength(1);
    const files = kinds(events, 'http.file').filter((event) => event.outcome === 'ok').map((event) => event.details?.file);
    expect(files, story).toEqual(expect.arrayContaining(['/tftp/lab/vmlinuz', '/tftp/lab/initrd.img']));
  }, BOOT_TIMEOUT_MS + 60_000);

  it.skipIf(biosUnavailable)('an unknown machine on the default profile, and a boot-once host marked done, are sent to their local disk', async () => {
    const unknownMac = '52:54:00:77:14:20';
    const onceMac = '52:54:00:77:14:10';
    const session = await startLabSession({
      tag: 'loc', subnetIndex: 14, loaders: 'netboot-init', defaultProfile: 'local',
      hosts: [{ name: 'installed', mac: onceMac, profile: 'ipxe-marker', once: true }],
    });
    sessions.push(session);

    // The install of `installed` reports done, as its installer would at the end.
    const unauthorised = await session.request('/api/hosts/installed/done', { method: 'POST' });
    expect(unauthorised.status, unauthorised.body).toBe(401);
    const done = await session.request('/api/hosts/installed/done', { method: 'POST', token: session.apiToken });
    expect(done.status, done.body).toBe(200);

    for (const [mac, who] of [[unknownMac, 'unknown machine'], [onceMac, 'boot-once host marked done']] as const) {
      const machine = session.boot('bios', mac);
      // Nothing else is bootable in QEMU, so the local-boot script having been fetched is where this boot ends.
      const events = await waitForEvents(() => session.events(mac), (seen) => kinds(seen, 'http.script').length > 0, BOOT_TIMEOUT_MS, `${who}: iPXE script fetch`);
      const elapsedS = ((Date.now() - machine.startedAt) / 1000).toFixed(1);
      await machine.stop();
      console.info(`e2e local boot (${who}): QEMU start to script fetched ${elapsedS} s`);
      const story = describeEvents(events);
      expect(kinds(events, 'dhcp.ack').at(-1)?.details?.bootFile, story).toBe(`${session.baseUrl}/boot/${mac}.ipxe`);
      expect(kinds(events, 'http.script').map((event) => event.details?.localBoot), story).toEqual([true]);
      // What it was served says "boot from disk": iPXE's `exit` hands control back to the BIOS boot order.
      const script = await session.request(`/boot/${mac}.ipxe`);
      expect(script.status).toBe(200);
      expect(script.body).toMatch(/^#!ipxe\n/);
      expect(script.body).toMatch(/^exit$/m);
      expect(script.body).not.toMatch(/^kernel /m);
      expect(kinds(events, 'http.file'), story).toEqual([]);
      expect(machine.serial()).not.toContain(session.token);
    }
    const installed = await session.events(onceMac);
    expect(kinds(installed, 'boot.done'), describeEvents(installed)).toHaveLength(1);
  }, 2 * BOOT_TIMEOUT_MS + 60_000);
});

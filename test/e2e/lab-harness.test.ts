/**
 * The e2e harness's own pure parts, checked without root or QEMU: the cpio
 * archive the kernel unpacks, the marker parser, the QEMU command lines from
 * pxe-lab.md, and that the generated lab config passes netboot's own loader
 * (a harness that writes a config netboot rejects would fail every boot case
 * for the wrong reason).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { dnsmasqArgs } from '../../src/tools/lab/dnsmasq.js';
import { buildInitramfs, encodeCpioNewc, findMarker, initScript, MARKER_PREFIX } from '../helpers/initramfs.js';
import { labConfigYaml, type BridgeLab } from '../helpers/pxe-lab.js';
import { qemuArgs } from '../helpers/qemu.js';

/** Minimal newc reader: name → {mode, data, rdev}. */
function readCpio(archive: Buffer): Map<string, { mode: number; data: Buffer; rdevMajor: number; rdevMinor: number }> {
  const entries = new Map<string, { mode: number; data: Buffer; rdevMajor: number; rdevMinor: number }>();
  let offset = 0;
  const align = (value: number): number => (value + 3) & ~3;
  for (;;) {
    expect(archive.toString('ascii', offset, offset + 6)).toBe('070701');
    const field = (index: number): number => parseInt(archive.toString('ascii', offset + 6 + index * 8, offset + 14 + index * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = archive.toString('ascii', offset + 110, offset + 110 + nameSize - 1);
    const dataStart = align(offset + 110 + nameSize);
    if (name === 'TRAILER!!!') break;
    entries.set(name, { mode, data: archive.subarray(dataStart, dataStart + size), rdevMajor: field(9), rdevMinor: field(10) });
    offset = align(dataStart + size);
  }
  return entries;
}

describe('lab harness: marker initramfs', () => {
  it('encodes newc entries the kernel can unpack: 4-byte alignment, devices, symlinks, trailer', () => {
    const archive = encodeCpioNewc([
      { path: 'dev', mode: 0o040755 },
      { path: 'dev/console', mode: 0o020600, rdev: { major: 5, minor: 1 } },
      { path: 'init', mode: 0o100755, data: Buffer.from('#!/bin/sh\n') },
      { path: 'bin/sh', mode: 0o120777, data: Buffer.from('busybox') },
    ]);
    expect(archive.length % 4).toBe(0);
    const entries = readCpio(archive);
    expect([...entries.keys()]).toEqual(['dev', 'dev/console', 'init', 'bin/sh']);
    expect(entries.get('dev/console')).toMatchObject({ mode: 0o020600, rdevMajor: 5, rdevMinor: 1 });
    expect(entries.get('init')!.data.toString()).toBe('#!/bin/sh\n');
    expect(entries.get('bin/sh')!.data.toString()).toBe('busybox');
  });

  it.skipIf(process.platform !== 'linux')('builds an initramfs with /init, busybox and the libraries it links', () => {
    const entries = readCpio(gunzipSync(buildInitramfs({ token: 'tok-1' })));
    expect(entries.get('init')!.data.toString()).toBe(initScript('tok-1'));
    expect(entries.get('init')!.mode & 0o111).not.toBe(0);
    expect(entries.has('bin/busybox')).toBe(true);
    expect(entries.get('bin/poweroff')!.data.toString()).toBe('busybox');
    expect(entries.has('dev/console')).toBe(true);
  });

  it('finds only a complete marker line with the right token', () => {
    const line = `${MARKER_PREFIX} tok-1 cmdline=initrd=initrd.img console=ttyS0 netboot.host=a`;
    expect(findMarker(`[    1.0] Run /init\r\n${line}\r\n[    1.2] reboot: Power down\r\n`, 'tok-1')).toEqual({ line, cmdline: 'initrd=initrd.img console=ttyS0 netboot.host=a' });
    expect(findMarker(`${line}`, 'tok-1')).toBeNull(); // not yet complete
    expect(findMarker(`${MARKER_PREFIX} tok-2 cmdline=x\n`, 'tok-1')).toBeNull();
  });
});

describe('lab harness: QEMU command lines (pxe-lab.md)', () => {
  it('BIOS: pc machine, e1000 with the iPXE ROM, network boot, serial to a file', () => {
    const args = qemuArgs({ firmware: 'bios', tap: 'nbtap0', mac: '52:54:00:77:00:10', workDir: '/tmp', accel: 'tcg' }, '/tmp/serial.log', '/tmp/vars.fd').join(' ');
    expect(args).toContain('-machine pc');
    expect(args).toContain('-accel tcg');
    expect(args).toContain('-no-reboot -boot n');
    expect(args).toContain('-serial file:/tmp/serial.log');
    expect(args).toContain('tap,id=net0,ifname=nbtap0,script=no,downscript=no');
    expect(args).toContain('e1000,netdev=net0,mac=52:54:00:77:00:10,romfile=/usr/lib/ipxe/qemu/efi-e1000.rom');
  });

  it('UEFI: q35, OVMF code read-only + a writable vars copy, virtio-net without an option ROM', () => {
    const args = qemuArgs({ firmware: 'uefi', tap: 'nbtap1', mac: '52:54:00:77:00:11', workDir: '/tmp', accel: 'tcg' }, '/tmp/serial.log', '/tmp/vars.fd').join(' ');
    expect(args).toContain('-machine q35');
    expect(args).toContain('if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd');
    expect(args).toContain('if=pflash,format=raw,unit=1,file=/tmp/vars.fd');
    expect(args).toContain('virtio-net-pci,netdev=net0,mac=52:54:00:77:00:11,romfile=,');
  });
});

describe('lab harness: generated configs', () => {
  const lab = { namespace: 'x', bridge: 'nbbr0', serverAddress: '10.77.5.1', subnet: '10.77.5.0/24', prefix: '10.77.5' } as BridgeLab;

  it('the lab config loads cleanly through netboot\'s own loader', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netboot-lab-config-'));
    try {
      const yaml = labConfigYaml({
        lab, dir, tftpRoot: join(dir, 'tftp'), apiToken: '0123456789abcdef0123',
        hosts: [{ name: 'a', mac: '52:54:00:77:05:10', profile: 'pxelinux-marker' }, { name: 'b', mac: '52:54:00:77:05:11', profile: 'ipxe-marker', once: true }],
        defaultProfile: 'local',
      });
      const file = join(dir, 'netboot.yaml');
      writeFileSync(file, yaml);
      const result = loadConfigFile(file, { allowMissing: true });
      if (!result.ok) throw new Error(JSON.stringify(result.issues, null, 2));
      expect(result.config.dhcp.mode).toBe('authoritative');
      expect(result.config.server.addressText).toBe('10.77.5.1');
      expect(result.config.http.baseUrl).toBe('http://10.77.5.1');
      expect(result.config.profiles.get('pxelinux-marker')?.loader).toBe('pxelinux');
      expect(result.config.profiles.get('local')?.localboot).toBe(true);
      expect(result.config.hostsByName.get('b')?.once).toBe(true);
      expect(result.config.defaultProfile).toBe('local');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('dnsmasq hands iPXE the script and firmware PXE the loader, with mutually exclusive tags', () => {
    const args = dnsmasqArgs({ bridge: 'nbbr0', serverAddress: '10.77.5.1', prefix: '10.77.5', tftpRoot: '/t', leaseFile: '/l', ipxeScriptUrl: 'http://10.77.5.1/boot/x.ipxe', biosBootFile: 'pxelinux.0', uefiBootFile: 'snponly.efi' });
    expect(args).toContain('--dhcp-boot=tag:ipxe,http://10.77.5.1/boot/x.ipxe');
    expect(args).toContain('--dhcp-boot=tag:efi64,tag:!ipxe,snponly.efi');
    expect(args).toContain('--dhcp-boot=tag:!efi64,tag:!ipxe,pxelinux.0');
    expect(args).toContain('--port=0');
    expect(args).toContain('--interface=nbbr0');
  });
});

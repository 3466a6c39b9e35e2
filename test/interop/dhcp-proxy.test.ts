/**
 * Proxy mode beside a real DHCP server: dnsmasq hands out addresses, netboot
 * (dhcp.mode: proxy) hands out only boot information, on one bridge made
 * here (server 10.71.0.1, dnsmasq 10.71.0.2, client unaddressed; no route
 * out). A PXE-like client (test/fixtures/dhcp/pxe-client.mjs, independent of
 * netboot's codec) must get its address from dnsmasq and its boot file from
 * netboot, also from the boot server port 4011; a non-PXE client must hear
 * only dnsmasq.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhcpServiceProcess, dhcpDistMissing } from '../helpers/dhcp-service-process.js';
import { createBridgeLab, hasProgram, ip, netnsUnavailableReason, nsExec, nsSpawn, stopProcess, type BridgeLab } from '../helpers/netns.js';

const skipReason = netnsUnavailableReason() ?? dhcpDistMissing()
  ?? (hasProgram('dnsmasq') ? null : 'needs dnsmasq (dnsmasq-base)') ?? (hasProgram('busybox') ? null : 'needs busybox (udhcpc)');
const PXE_CLIENT = resolve(import.meta.dirname, '../fixtures/dhcp/pxe-client.mjs');
const IPXE_ROM = '/usr/lib/ipxe/qemu/efi-e1000.rom';
const qemuSkip = hasProgram('qemu-system-x86_64') ? (existsSync(IPXE_ROM) ? null : `needs ${IPXE_ROM} (ipxe-qemu)`) : 'needs qemu-system-x86_64';

const CONFIG = `
server: { address: 10.71.0.1 }
dhcp: { mode: proxy }
tftp: { enabled: false }
http: { enabled: false }
bootloaders:
  ipxe: { bios: undionly.kpxe, uefi-x64: snponly.efi }
profiles:
  install: { loader: ipxe, kernel: k, cmdline: "x" }
defaultProfile: install
`;

interface PxeResult {
  address: string | null;
  addressServer: string | null;
  offers: { yiaddr: string; serverId: string }[];
  proxyOffer: { file: string; bootfile: string; siaddr: string; vendorClass: string; hasPxeVendorOptions: boolean; echoedGuid: boolean; serverId: string } | null;
  ack: { type: number; yiaddr: string } | null;
  bootServerAck: { type: number; file: string; bootfile: string; vendorClass: string } | null;
}

describe.skipIf(skipReason !== null)(`proxyDHCP beside dnsmasq${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let lab: BridgeLab;
  let dir: string;
  let dnsmasq: ChildProcess | null = null;
  let service: DhcpServiceProcess | null = null;
  let dnsmasqLog = '';

  beforeAll(async () => {
    lab = createBridgeLab('dhcpx', [{ name: 'srv', cidr: '10.71.0.1/16' }, { name: 'dns', cidr: '10.71.0.2/16' }, { name: 'cli' }]);
    // The client has no address yet: give its broadcasts a way onto the segment (and nowhere else).
    ip('-n', lab.members.cli!, 'route', 'add', '255.255.255.255/32', 'dev', lab.memberIf);
    dir = mkdtempSync(join(tmpdir(), 'netboot-dhcp-proxy-'));
    const configPath = join(dir, 'proxy.yaml');
    writeFileSync(configPath, CONFIG);
    dnsmasq = nsSpawn(lab.members.dns!, 'dnsmasq', [
      '--keep-in-foreground', '--conf-file=/dev/null', '--port=0', `--interface=${lab.memberIf}`, '--bind-interfaces',
      '--dhcp-range=10.71.2.10,10.71.2.50,255.255.0.0,1h', `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`, '--no-ping',
      `--pid-file=${join(dir, 'dnsmasq.pid')}`, '--log-dhcp', '--log-facility=-',
    ]);
    dnsmasq.stderr!.on('data', (chunk: Buffer) => { dnsmasqLog += chunk.toString(); });
    service = await DhcpServiceProcess.start(lab.members.srv!, configPath);
    expect(service.stderr).not.toMatch(/error/i);
  });

  afterAll(async () => {
    await service?.stop();
    if (dnsmasq) await stopProcess(dnsmasq);
    lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a PXE client gets its address from dnsmasq and its boot file from netboot (port 67 and 4011)', async () => {
    ip('-n', lab.members.cli!, 'link', 'set', lab.memberIf, 'address', '52:54:00:71:00:77');
    const output = nsExec(lab.members.cli!, process.execPath, [PXE_CLIENT, lab.memberIf, '52:54:00:71:00:77'], { timeoutMs: 30_000 });
    const result = JSON.parse(output) as PxeResult;
    expect(result.addressServer, dnsmasqLog).toBe('10.71.0.2');
    expect(result.address).toMatch(/^10\.71\.2\.\d+$/);
    expect(result.ack?.type).toBe(5);
    expect(result.proxyOffer).toMatchObject({ serverId: '10.71.0.1', siaddr: '10.71.0.1', file: 'undionly.kpxe', bootfile: 'undionly.kpxe', vendorClass: 'PXEClient', hasPxeVendorOptions: true, echoedGuid: true });
    // Exactly one offer carries an address: netboot's has none.
    expect(result.offers.filter((offer) => offer.yiaddr !== '0.0.0.0').every((offer) => offer.serverId === '10.71.0.2')).toBe(true);
    expect(result.bootServerAck).toMatchObject({ type: 5, file: 'undionly.kpxe', vendorClass: 'PXEClient' });
    const proxyEvents = await service!.waitForEvents((event) => event.kind === 'dhcp.proxy' && event.mac === '52:54:00:71:00:77', 2);
    expect(proxyEvents.map((event) => event.details?.bootFile)).toEqual(['undionly.kpxe', 'undionly.kpxe']);
  });

  it.skipIf(qemuSkip !== null)(`QEMU's iPXE ROM takes its address from dnsmasq and its script URL from netboot${qemuSkip ? ` (skipped: ${qemuSkip})` : ''}`, async () => {
    ip('netns', 'exec', lab.hub, 'ip', 'tuntap', 'add', 'dev', 'nbtap0', 'mode', 'tap');
    ip('-n', lab.hub, 'link', 'set', 'nbtap0', 'master', 'br0', 'up');
    const qemu = nsSpawn(lab.hub, 'qemu-system-x86_64', [
      // -nographic: SeaBIOS and the iPXE ROM print to the serial console only then.
      '-machine', 'pc', '-accel', 'tcg', '-m', '128', '-nographic', '-no-reboot', '-boot', 'n',
      '-netdev', 'tap,id=net0,ifname=nbtap0,script=no,downscript=no',
      '-device', `e1000,netdev=net0,mac=52:54:00:71:00:78,romfile=${IPXE_ROM},bootindex=1`,
    ]);
    let serial = '';
    qemu.stdout!.on('data', (chunk: Buffer) => { serial += chunk.toString('latin1'); });
    try {
      const event = await service!.waitForEvent((entry) => entry.kind === 'dhcp.proxy' && entry.mac === '52:54:00:71:00:78', 150_000);
      expect(event.details?.firmware).toBe('bios ipxe');
      // iPXE says what it took: dnsmasq's address and netboot's boot file.
      for (let i = 0; i < 300 && !/Filename: \S+/.test(serial); i++) await new Promise((resolve) => setTimeout(resolve, 200));
      expect(serial).toContain('Next server: 10.71.0.1');
      expect(serial).toContain('Filename: http://10.71.0.1/boot/52:54:00:71:00:78.ipxe');
      expect(readFileSync(join(dir, 'dnsmasq.leases'), 'utf8')).toMatch(/52:54:00:71:00:78 10\.71\.2\.\d+/);
    } finally {
      await stopProcess(qemu);
    }
  }, 200_000);

  it('a client that is not PXE hears only dnsmasq', async () => {
    ip('-n', lab.members.cli!, 'addr', 'flush', 'dev', lab.memberIf);
    ip('-n', lab.members.cli!, 'link', 'set', lab.memberIf, 'address', '02:71:00:00:00:99');
    const before = (await service!.status()).status;
    const output = nsExec(lab.members.cli!, 'sh', ['-c', `busybox udhcpc -i ${lab.memberIf} -n -q -f -t 4 -T 1 -s /bin/true 2>&1`], { timeoutMs: 20_000 });
    expect(output).toMatch(/lease of 10\.71\.2\.\d+ obtained from 10\.71\.0\.2/);
    const after = await service!.status();
    expect(after.leases).toEqual([]);
    expect(service!.events.some((event) => event.mac === '02:71:00:00:00:99')).toBe(false);
    // Its DISCOVER and REQUEST did reach netboot, and were dropped unanswered.
    expect(after.status.replied).toBe(before.replied);
    expect(Number(after.status.dropped) - Number(before.dropped)).toBeGreaterThanOrEqual(2);
  });
});

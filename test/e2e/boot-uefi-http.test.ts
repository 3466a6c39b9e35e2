/**
 * Real firmware boots from netboot (issue 4, option 93 = 16): UEFI HTTP boot.
 * OVMF with PXEv4/PXEv6 switched off through fw_cfg runs its "UEFI HTTPv4"
 * entry: DHCP with vendor class `HTTPClient:Arch:00016:...`, then HEAD + GET
 * of the boot file URL (User-Agent UefiHttpBoot/1.0). netboot must answer with
 * option 60 `HTTPClient` (OVMF drops any other offer), option 54, an address
 * and a full http:// URL ending in .efi; the snponly.efi (iPXE) fetched that
 * way asks DHCP again and gets its script; kernel + initrd over HTTP. No TFTP
 * at all. The wire is captured with tcpdump in the lab namespace, because
 * /api/events records neither the reply's option 60 nor HEAD requests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BOOT_TIMEOUT_MS, describeEvents, e2eUnavailableReason, startLabSession, stopChild, type LabEvent, type LabSession } from '../helpers/pxe-lab.js';
import { hasProgram } from '../../src/tools/lab/bridge-lab.js';
import { qemuArgs, startMachine, type RunningMachine } from '../helpers/qemu.js';

const unavailable = e2eUnavailableReason(['uefi']) ?? (hasProgram('tcpdump') ? null : 'needs tcpdump (apt-get install tcpdump): the DHCP replies and HTTP HEAD are checked on the wire');
if (unavailable) console.warn(`e2e UEFI HTTP boot skipped: ${unavailable}`);

const sessions: LabSession[] = [];
const machines: RunningMachine[] = [];
const captures: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(machines.splice(0).map((machine) => machine.stop()));
  await Promise.all(captures.splice(0).map((capture) => stopChild(capture)));
  await Promise.all(sessions.splice(0).map((session) => session.destroy()));
});

function kinds(events: LabEvent[], kind: string): LabEvent[] {
  return events.filter((event) => event.kind === kind);
}

/** One DHCP packet from the capture, with the fields this test asks about. */
interface WireDhcp {
  fromServer: boolean;
  xid: number;
  yiaddr: string;
  file: string;
  messageType: number | null;
  options: Map<number, Buffer>;
}

const DHCP_MAGIC = 0x63825363;

/**
 * The DHCP packets of a classic pcap file (Ethernet, IPv4, UDP 67/68). A
 * minimal reader on purpose: it must not share code with the server it checks.
 */
function dhcpPacketsOf(pcap: Buffer): WireDhcp[] {
  const packets: WireDhcp[] = [];
  if (pcap.length < 24) return packets;
  const little = pcap.readUInt32LE(0) === 0xa1b2c3d4 || pcap.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (offset: number): number => (little ? pcap.readUInt32LE(offset) : pcap.readUInt32BE(offset));
  let offset = 24;
  while (offset + 16 <= pcap.length) {
    const captured = u32(offset + 8);
    const frame = pcap.subarray(offset + 16, offset + 16 + captured);
    offset += 16 + captured;
    if (frame.length < 14 + 20 + 8 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ip = frame.subarray(14);
    if (ip[9] !== 17) continue;
    const udp = ip.subarray((ip[0]! & 0x0f) * 4);
    const sourcePort = udp.readUInt16BE(0);
    const destinationPort = udp.readUInt16BE(2);
    if (!((sourcePort === 67 && destinationPort === 68) || (sourcePort === 68 && destinationPort === 67))) continue;
    const bootp = udp.subarray(8);
    if (bootp.length < 240 || bootp.readUInt32BE(236) !== DHCP_MAGIC) continue;
    const options = new Map<number, Buffer>();
    for (let at = 240; at < bootp.length;) {
      const code = bootp[at]!;
      if (code === 255) break;
      if (code === 0) { at += 1; continue; }
      const length = bootp[at + 1] ?? 0;
      options.set(code, bootp.subarray(at + 2, at + 2 + length));
      at += 2 + length;
    }
    const file = bootp.subarray(108, 236);
    const fileEnd = file.indexOf(0);
    packets.push({
      fromServer: sourcePort === 67,
      xid: bootp.readUInt32BE(4),
      yiaddr: [...bootp.subarray(16, 20)].join('.'),
      file: file.subarray(0, fileEnd < 0 ? file.length : fileEnd).toString('latin1'),
      messageType: options.get(53)?.[0] ?? null,
      options,
    });
  }
  return packets;
}

function describeWire(packets: WireDhcp[]): string {
  const names: Record<number, string> = { 1: 'DISCOVER', 2: 'OFFER', 3: 'REQUEST', 5: 'ACK', 6: 'NAK' };
  return packets.map((packet) => `${packet.fromServer ? '<-' : '->'} ${names[packet.messageType ?? 0] ?? packet.messageType} xid=${packet.xid.toString(16)} yiaddr=${packet.yiaddr} file=${packet.file || '-'} 60=${packet.options.get(60)?.toString('latin1') ?? '-'} 67=${packet.options.get(67)?.toString('latin1') ?? '-'} 54=${packet.options.has(54) ? [...packet.options.get(54)!].join('.') : '-'}`).join('\n');
}

describe('e2e: UEFI HTTP boot', () => {
  it('the QEMU command line switches off OVMF PXEv4/PXEv6 only when HTTP boot is asked for', () => {
    const spec = { firmware: 'uefi' as const, tap: 'nbtap0', mac: '52:54:00:77:15:10', workDir: '/tmp/x' };
    const http = qemuArgs({ ...spec, uefiNetworkBoot: 'http' }, '/tmp/x/serial.log', '/tmp/x/vars.fd').join(' ');
    expect(http).toContain('-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n');
    expect(http).toContain('-fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n');
    expect(http).toContain('romfile=,');
    expect(qemuArgs(spec, '/tmp/x/serial.log', '/tmp/x/vars.fd')).not.toContain('-fw_cfg');
    expect(qemuArgs({ ...spec, firmware: 'bios', uefiNetworkBoot: 'http' }, '/tmp/x/serial.log', '/tmp/x/vars.fd')).not.toContain('-fw_cfg');
  });

  it.skipIf(unavailable)('UEFI HTTP boot (OVMF, 93=16, HTTPClient): snponly.efi by http:// URL (HEAD + GET), then as iPXE its script, kernel + initrd over HTTP, no TFTP', async () => {
    const mac = '52:54:00:77:15:10';
    const session = await startLabSession({
      tag: 'hbt', subnetIndex: 15, loaders: 'netboot-init', defaultProfile: null,
      hosts: [{ name: 'uefi-http', mac, profile: 'ipxe-marker' }],
    });
    sessions.push(session);

    // The wire: DHCP both ways and client-to-server HTTP (the HEAD leaves no event).
    const pcapFile = join(session.dir, 'uefi-http.pcap');
    const capture = session.lab.spawn('tcpdump', ['-U', '-n', '-s', '0', '-i', session.lab.bridge, '-w', pcapFile, 'udp port 67 or udp port 68 or tcp dst port 80'], { stdio: ['ignore', 'ignore', 'pipe'] });
    captures.push(capture);
    let captureLog = '';
    capture.stderr?.on('data', (chunk: Buffer) => { captureLog += chunk.toString(); });
    // tcpdump says "listening on ..." once its socket is open; OVMF's first DISCOVER comes seconds later anyway.
    for (let waited = 0; waited < 10_000 && !captureLog.includes('listening'); waited += 100) await new Promise((done) => setTimeout(done, 100));

    const machine = startMachine(session.lab.namespace, { firmware: 'uefi', uefiNetworkBoot: 'http', tap: session.lab.addTap('nbtap0'), mac, workDir: session.dir });
    machines.push(machine);
    const marker = await machine.waitForMarker(session.token, BOOT_TIMEOUT_MS);
    console.info(`e2e UEFI HTTP boot: QEMU start to marker ${(marker.elapsedMs / 1000).toFixed(1)} s`);

    expect(marker.cmdline).toContain('netboot.host=uefi-http');
    expect(marker.cmdline).toContain('netboot.profile=ipxe-marker');
    expect(marker.cmdline).toContain('initrd=initrd.img');

    const events = await session.events(mac);
    const story = describeEvents(events);
    const loaderUrl = `${session.baseUrl}/tftp/snponly.efi`;
    const acks = kinds(events, 'dhcp.ack');
    // First the firmware's HTTP boot client gets the loader's URL; then iPXE, asking again, its script.
    expect(acks[0]?.details?.firmware, story).toBe('uefi-x64 http');
    expect(acks[0]?.details?.bootFile, story).toBe(loaderUrl);
    expect(kinds(events, 'dhcp.offer')[0]?.details?.firmware, story).toBe('uefi-x64 http');
    expect(acks.at(-1)?.details?.firmware, story).toBe('uefi-x64 ipxe');
    expect(acks.at(-1)?.details?.bootFile, story).toBe(`${session.baseUrl}/boot/${mac}.ipxe`);
    // The loader went over HTTP exactly once (no loop), then one script, kernel and initrd; no TFTP at all.
    const files = kinds(events, 'http.file').filter((event) => event.outcome === 'ok').map((event) => event.details?.file);
    expect(files.filter((file) => file === '/tftp/snponly.efi'), story).toHaveLength(1);
    expect(files, story).toEqual(expect.arrayContaining(['/tftp/lab/vmlinuz', '/tftp/lab/initrd.img']));
    expect(kinds(events, 'http.script'), story).toHaveLength(1);
    expect(events.filter((event) => event.kind.startsWith('tftp.')), story).toEqual([]);

    await stopChild(capture);
    const pcap = existsSync(pcapFile) ? readFileSync(pcapFile) : Buffer.alloc(0);
    const wire = dhcpPacketsOf(pcap);
    const wireStory = `${describeWire(wire)}\nnetboot events:\n${story}`;
    // The firmware's request: option 60 HTTPClient:Arch:00016, option 93 = 16.
    const httpClientRequests = wire.filter((packet) => !packet.fromServer && packet.options.get(60)?.toString('latin1').startsWith('HTTPClient'));
    expect(httpClientRequests.length, wireStory).toBeGreaterThan(0);
    expect(httpClientRequests[0]!.options.get(93)?.readUInt16BE(0), wireStory).toBe(16);
    const firmwareXids = new Set(httpClientRequests.map((packet) => packet.xid));
    const firmwareReplies = wire.filter((packet) => packet.fromServer && firmwareXids.has(packet.xid));
    // OVMF only takes an OFFER and ACK that say HTTPClient and carry an address, 54 and the URL.
    for (const type of [2, 5]) {
      const reply = firmwareReplies.find((packet) => packet.messageType === type);
      expect(reply, `no ${type === 2 ? 'OFFER' : 'ACK'} to the HTTP boot client\n${wireStory}`).toBeDefined();
      expect(reply!.options.get(60)?.toString('latin1'), wireStory).toBe('HTTPClient');
      expect(reply!.yiaddr, wireStory).not.toBe('0.0.0.0');
      expect([...(reply!.options.get(54) ?? [])].join('.'), wireStory).toBe(session.lab.serverAddress);
      expect(reply!.options.get(67)?.toString('latin1') ?? reply!.file, wireStory).toBe(loaderUrl);
    }
    // OVMF's HTTP boot client: HEAD (size), then GET, both as UefiHttpBoot/1.0.
    const text = pcap.toString('latin1');
    expect(text, 'HEAD /tftp/snponly.efi on the wire').toMatch(/HEAD \/tftp\/snponly\.efi HTTP\/1\.1\r\n(?:[^\r\n]+\r\n)*User-Agent: UefiHttpBoot\/1\.0\r\n/i);
    expect(text, 'GET /tftp/snponly.efi from the firmware on the wire').toMatch(/GET \/tftp\/snponly\.efi HTTP\/1\.1\r\n(?:[^\r\n]+\r\n)*User-Agent: UefiHttpBoot\/1\.0\r\n/i);
  }, BOOT_TIMEOUT_MS + 60_000);
});

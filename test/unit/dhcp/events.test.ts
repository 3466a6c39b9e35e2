/**
 * DHCP events are recorded as facts and their messages built when read
 * (runtime/events.ts). These tables pin what /api/events shows for every
 * message shape: the expected texts are the ones the state machines built
 * eagerly before (same wording, same details, same field order).
 */
import { describe, expect, it } from 'vitest';
import { MessageType } from '../../../src/dhcp/codec/constants.js';
import type { DhcpPacket } from '../../../src/dhcp/codec/packet.js';
import { ProxyServer } from '../../../src/dhcp/proxy.js';
import { EventLog, type BootEvent } from '../../../src/runtime/events.js';
import { clientPacket, discover, ip, request } from './helpers.js';
import { Lab, labConfig, LAB_YAML } from './lab.js';

const SERVER = '10.71.0.1';
const PXE_BIOS = { arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001' };
const PXE_X64 = { arch: 7, vendorClass: 'PXEClient:Arch:00007:UNDI:003000' };

type Expected = Omit<BootEvent, 'time' | 'mac' | 'details'> & { details: Record<string, unknown> };

/** The event of the last packet (the ones before set the scene), recorded as the service does and read back. */
function lastEvent(packets: DhcpPacket[], note: string | null = null, outcome?: 'failure'): BootEvent {
  const lab = new Lab();
  const log = new EventLog();
  let heard: BootEvent | null = null;
  log.subscribe((event) => { heard = event; });
  for (const packet of packets) {
    lab.advance(1);
    const exchange = lab.handle(packet);
    if (exchange.event !== null) log.recordClient(exchange.event, note, outcome ?? exchange.event.outcome, 7);
  }
  const listed = log.list();
  expect(heard).toEqual(listed.at(-1));
  return listed.at(-1)!;
}

const laptop = '02:00:00:00:05:05';
const client = (mac: string, ipText: string | null, extra: Record<string, unknown> = {}) => ({ mac, ip: ipText, host: null, firmware: 'os', ...extra });

describe('DHCP event messages (authoritative)', () => {
  const cases: { name: string; packets: DhcpPacket[]; note?: string; outcome?: 'failure'; expected: Expected }[] = [
    {
      name: 'offer',
      packets: [discover(laptop)],
      expected: { kind: 'dhcp.offer', outcome: 'ok', message: 'offered 10.71.0.100', ip: '10.71.0.100', host: null, details: client(laptop, '10.71.0.100') },
    },
    {
      name: 'retried DISCOVER',
      packets: [discover(laptop), discover(laptop)],
      expected: { kind: 'dhcp.offer', outcome: 'harmless', message: 'retried DISCOVER: offered 10.71.0.100 again', ip: '10.71.0.100', host: null, details: client(laptop, '10.71.0.100') },
    },
    {
      name: 'offer to a known PXE host, with its boot decision',
      packets: [discover('52:54:00:aa:00:01', PXE_X64)],
      expected: {
        kind: 'dhcp.offer', outcome: 'ok', message: 'offered 10.71.0.50', ip: '10.71.0.50', host: 'node01',
        details: { mac: '52:54:00:aa:00:01', ip: '10.71.0.50', host: 'node01', firmware: 'uefi-x64', bootFile: 'snponly.efi', reason: 'host node01: profile inst; uefi-x64 gets ipxe snponly.efi' },
      },
    },
    {
      name: 'iPXE gets its script',
      packets: [discover('52:54:00:aa:00:01', { arch: 7, userClass: 'iPXE', xid: 5 })],
      expected: {
        kind: 'dhcp.offer', outcome: 'ok', message: 'offered 10.71.0.50', ip: '10.71.0.50', host: 'node01',
        details: { mac: '52:54:00:aa:00:01', ip: '10.71.0.50', host: 'node01', firmware: 'uefi-x64 ipxe', bootFile: 'http://10.71.0.1:8080/boot/52:54:00:aa:00:01.ipxe', reason: 'host node01: profile inst; iPXE gets its script' },
      },
    },
    {
      name: 'unknown architecture',
      packets: [discover('52:54:00:aa:00:05', { arch: 42 })],
      expected: {
        kind: 'dhcp.offer', outcome: 'ok', message: 'offered 10.71.0.100', ip: '10.71.0.100', host: null,
        details: { mac: '52:54:00:aa:00:05', ip: '10.71.0.100', host: null, firmware: 'bios', bootFile: 'undionly.kpxe', reason: 'unknown machine: profile boots locally; bios gets ipxe undionly.kpxe', unknownArch: 42 },
      },
    },
    {
      name: 'ACK, selecting',
      packets: [discover(laptop), request(laptop, { requested: '10.71.0.100', serverId: SERVER })],
      expected: { kind: 'dhcp.ack', outcome: 'ok', message: 'selecting: leased 10.71.0.100 for 3600s', ip: '10.71.0.100', host: null, details: client(laptop, '10.71.0.100') },
    },
    {
      name: 'ACK, init-reboot',
      packets: [request(laptop, { requested: '10.71.0.101' })],
      expected: { kind: 'dhcp.ack', outcome: 'ok', message: 'init-reboot: leased 10.71.0.101 for 3600s', ip: '10.71.0.101', host: null, details: client(laptop, '10.71.0.101') },
    },
    {
      name: 'ACK, renewing',
      packets: [request(laptop, { requested: '10.71.0.101' }), request(laptop, { ciaddr: '10.71.0.101' })],
      expected: { kind: 'dhcp.ack', outcome: 'ok', message: 'renewing: renewed 10.71.0.101 for 3600s', ip: '10.71.0.101', host: null, details: client(laptop, '10.71.0.101') },
    },
    {
      name: 'ACK, rebinding',
      packets: [request(laptop, { requested: '10.71.0.101' }), request(laptop, { ciaddr: '10.71.0.101', flags: 0x8000 })],
      expected: { kind: 'dhcp.ack', outcome: 'ok', message: 'rebinding: renewed 10.71.0.101 for 3600s', ip: '10.71.0.101', host: null, details: client(laptop, '10.71.0.101') },
    },
    {
      name: 'ACK withheld: the lease could not be written',
      packets: [request(laptop, { requested: '10.71.0.101' })], note: 'not sent: the lease could not be written to the lease file', outcome: 'failure',
      expected: { kind: 'dhcp.ack', outcome: 'failure', message: 'init-reboot: leased 10.71.0.101 for 3600s (not sent: the lease could not be written to the lease file)', ip: '10.71.0.101', host: null, details: client(laptop, '10.71.0.101') },
    },
    {
      name: 'ACK for the time already on disk',
      packets: [request(laptop, { requested: '10.71.0.101' })], note: 'lease file not writable: ACKed for the time already on disk',
      expected: { kind: 'dhcp.ack', outcome: 'ok', message: 'init-reboot: leased 10.71.0.101 for 3600s (lease file not writable: ACKed for the time already on disk)', ip: '10.71.0.101', host: null, details: client(laptop, '10.71.0.101') },
    },
    {
      name: 'NAK: not on this network',
      packets: [request(laptop, { requested: '10.99.0.100' })],
      expected: { kind: 'dhcp.nak', outcome: 'failure', message: 'NAK for 10.99.0.100: 10.99.0.100 is not on this network', ip: '10.99.0.100', host: null, details: client(laptop, '10.99.0.100') },
    },
    {
      name: 'NAK: another address is reserved',
      packets: [request('52:54:00:aa:00:01', { requested: '10.71.0.51' })],
      expected: { kind: 'dhcp.nak', outcome: 'failure', message: 'NAK for 10.71.0.51: reserved address is 10.71.0.50', ip: '10.71.0.51', host: 'node01', details: { mac: '52:54:00:aa:00:01', ip: '10.71.0.51', host: 'node01', firmware: 'os' } },
    },
    {
      name: 'NAK: in use by another client',
      packets: [request(laptop, { requested: '10.71.0.101' }), request('02:00:00:00:05:06', { requested: '10.71.0.101' })],
      expected: { kind: 'dhcp.nak', outcome: 'failure', message: 'NAK for 10.71.0.101: 10.71.0.101 in use by another client', ip: '10.71.0.101', host: null, details: client('02:00:00:00:05:06', '10.71.0.101') },
    },
    {
      name: 'REQUEST for another server',
      packets: [request(laptop, { requested: '10.71.0.101', serverId: '10.71.0.9' })],
      expected: { kind: 'dhcp.ignored', outcome: 'harmless', message: 'REQUEST for server 10.71.0.9, not this one', ip: null, host: null, details: client(laptop, null, { firmware: null }) },
    },
    {
      name: 'pool exhausted',
      packets: ['10', '11', '12', '13', '14'].map((n) => discover(`02:00:00:00:06:${n}`)),
      expected: { kind: 'dhcp.ignored', outcome: 'failure', message: 'no free address in 10.71.0.0/24 for 02:00:00:00:06:14', ip: null, host: null, details: client('02:00:00:00:06:14', null) },
    },
    {
      name: 'DECLINE',
      packets: [request(laptop, { requested: '10.71.0.101' }), clientPacket({ type: MessageType.Decline, mac: laptop, requested: '10.71.0.101', serverId: SERVER })],
      expected: { kind: 'dhcp.decline', outcome: 'failure', message: 'client found 10.71.0.101 already in use on the network; kept out of the pool for 600s', ip: '10.71.0.101', host: null, details: client(laptop, '10.71.0.101', { firmware: null }) },
    },
    {
      name: 'RELEASE',
      packets: [request(laptop, { requested: '10.71.0.101' }), clientPacket({ type: MessageType.Release, mac: laptop, ciaddr: '10.71.0.101', serverId: SERVER })],
      expected: { kind: 'dhcp.release', outcome: 'ok', message: 'released 10.71.0.101', ip: '10.71.0.101', host: null, details: client(laptop, '10.71.0.101', { firmware: null }) },
    },
    {
      name: 'INFORM',
      packets: [clientPacket({ type: MessageType.Inform, mac: laptop, ciaddr: '10.71.0.77' })],
      expected: { kind: 'dhcp.inform', outcome: 'ok', message: 'INFORM from 10.71.0.77 answered', ip: '10.71.0.77', host: null, details: client(laptop, '10.71.0.77') },
    },
  ];
  for (const { name, packets, note, outcome, expected } of cases) {
    it(name, () => {
      const mac = expected.details.mac;
      const event = lastEvent(packets, note, outcome);
      expect(JSON.stringify(event)).toBe(JSON.stringify({ kind: expected.kind, outcome: expected.outcome, message: expected.message, mac, ip: expected.ip, host: expected.host, details: expected.details, time: 7 }));
    });
  }
});

describe('DHCP event messages (proxy)', () => {
  const proxyYaml = LAB_YAML.replace('mode: authoritative', 'mode: proxy');
  const cases: { name: string; packet: DhcpPacket; port: 'dhcp' | 'pxe'; expected: Expected }[] = [
    {
      name: 'proxy offer',
      packet: discover('52:54:00:aa:00:01', PXE_BIOS), port: 'dhcp',
      expected: {
        kind: 'dhcp.proxy', outcome: 'ok', message: 'proxy offer: boot file undionly.kpxe', ip: null, host: 'node01',
        details: { mac: '52:54:00:aa:00:01', ip: null, host: 'node01', firmware: 'bios', bootFile: 'undionly.kpxe', reason: 'host node01: profile inst; bios gets ipxe undionly.kpxe' },
      },
    },
    {
      name: 'boot server ACK on port 4011',
      packet: request('52:54:00:aa:00:01', { ...PXE_BIOS, ciaddr: '10.71.0.77' }), port: 'pxe',
      expected: {
        kind: 'dhcp.proxy', outcome: 'ok', message: 'boot server (port 4011) ack: boot file undionly.kpxe', ip: '10.71.0.77', host: 'node01',
        details: { mac: '52:54:00:aa:00:01', ip: '10.71.0.77', host: 'node01', firmware: 'bios', bootFile: 'undionly.kpxe', reason: 'host node01: profile inst; bios gets ipxe undionly.kpxe' },
      },
    },
    {
      name: 'nothing to boot (no loader for uefi-ia32)',
      packet: discover('52:54:00:aa:00:0a', { arch: 6, vendorClass: 'PXEClient:Arch:00006' }), port: 'dhcp',
      expected: {
        kind: 'dhcp.ignored', outcome: 'harmless', message: 'PXE client with nothing to boot (no host entry and no default profile, or no loader for its firmware)', ip: null, host: null,
        details: { mac: '52:54:00:aa:00:0a', ip: null, host: null, firmware: 'uefi-ia32', bootFile: null, reason: 'unknown machine: no boot loader configured for uefi-ia32' },
      },
    },
  ];
  for (const { name, packet, port, expected } of cases) {
    it(name, () => {
      const server = new ProxyServer(() => labConfig(proxyYaml), () => ({ isOnceDone: () => false }));
      const exchange = server.handle({ packet, port, source: { address: ip('10.71.0.77'), port: 68 }, now: 0 });
      const log = new EventLog();
      log.recordClient(exchange.event!, null, exchange.event!.outcome, 7);
      const mac = expected.details.mac;
      expect(JSON.stringify(log.list())).toBe(JSON.stringify([{ kind: expected.kind, outcome: expected.outcome, message: expected.message, mac, ip: expected.ip, host: expected.host, details: expected.details, time: 7 }]));
    });
  }
});

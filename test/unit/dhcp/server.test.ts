import { describe, expect, it } from 'vitest';
import { MessageType } from '../../../src/dhcp/codec/constants.js';
import { Option, readOption } from '../../../src/dhcp/codec/options.js';
import { decodePacket, encodePacket, messageTypeOf } from '../../../src/dhcp/codec/packet.js';
import { readPxeVendorOptions } from '../../../src/dhcp/codec/pxe-vendor.js';
import type { Exchange } from '../../../src/dhcp/exchange.js';
import { ProxyServer } from '../../../src/dhcp/proxy.js';
import { DHCP_LATE_RELEASE_MS } from '../../../src/dhcp/service.js';
import { formatIpv4 } from '../../../src/net/ipv4.js';
import { EventLog } from '../../../src/runtime/events.js';
import { clientPacket, discover, ip, request } from './helpers.js';
import { Lab, labConfig, LAB_YAML } from './lab.js';

const SERVER = '10.71.0.1';

function only(exchange: Exchange) {
  expect(exchange.replies).toHaveLength(1);
  const reply = exchange.replies[0]!;
  // What goes on the wire decodes to what was built.
  const wire = encodePacket(reply.packet);
  expect(wire.length).toBeGreaterThanOrEqual(300);
  return { packet: decodePacket(wire), destination: reply.destination, type: messageTypeOf(reply.packet) };
}

function dora(lab: Lab, mac: string, extra: Parameters<typeof discover>[1] = {}): string {
  const offer = only(lab.handle(discover(mac, extra)));
  expect(offer.type).toBe(MessageType.Offer);
  const address = formatIpv4(offer.packet.yiaddr);
  const ack = only(lab.handle(request(mac, { ...extra, requested: address, serverId: SERVER })));
  expect(ack.type).toBe(MessageType.Ack);
  return address;
}

describe('DISCOVER → OFFER', () => {
  it('offers a pool address with the subnet options, broadcast when the client asked', () => {
    const lab = new Lab();
    const offer = only(lab.handle(discover('02:00:00:00:00:01', { flags: 0x8000 })));
    expect(offer.type).toBe(MessageType.Offer);
    expect(formatIpv4(offer.packet.yiaddr)).toBe('10.71.0.100');
    expect(readOption(offer.packet.options, Option.serverIdentifier)).toBe(ip(SERVER));
    expect(readOption(offer.packet.options, Option.subnetMask)).toBe(ip('255.255.255.0'));
    expect(readOption(offer.packet.options, Option.router)).toEqual([ip('10.71.0.1')]);
    expect(readOption(offer.packet.options, Option.leaseTime)).toBe(3600);
    expect(offer.destination).toEqual({ address: 0xffffffff, port: 68, delivery: 'client-broadcast' });
  });

  it('gives a laptop (not PXE, not a host) an address but no boot file', () => {
    const lab = new Lab();
    const offer = only(lab.handle(discover('02:00:00:00:00:02')));
    expect(offer.packet.file).toBe('');
    expect(offer.packet.siaddr).toBe(0);
    expect(offer.packet.options.has(67)).toBe(false);
    expect(offer.packet.options.has(60)).toBe(false);
  });

  it('holds the offered address: a second client gets another one', () => {
    const lab = new Lab();
    const first = only(lab.handle(discover('02:00:00:00:00:03'))).packet.yiaddr;
    const second = only(lab.handle(discover('02:00:00:00:00:04'))).packet.yiaddr;
    expect(second).not.toBe(first);
  });

  it('offers the same address again to a retried DISCOVER, and calls it harmless', () => {
    const lab = new Lab();
    const first = only(lab.handle(discover('02:00:00:00:00:05'))).packet.yiaddr;
    const again = lab.handle(discover('02:00:00:00:00:05'));
    expect(only(again).packet.yiaddr).toBe(first);
    expect(again.event?.outcome).toBe('harmless');
  });

  it('never offers the server, the router, the network/broadcast or a reserved address', () => {
    const lab = new Lab(LAB_YAML.replace('pool: 10.71.0.100-10.71.0.103', 'pool: 10.71.0.1-10.71.0.254'));
    const handed = new Set<string>();
    for (let i = 0; i < 260; i++) {
      const mac = `02:00:00:01:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
      const exchange = lab.handle(discover(mac));
      if (exchange.replies.length === 0) {
        expect(exchange.dropReason).toBe('pool-exhausted');
        continue;
      }
      handed.add(formatIpv4(only(exchange).packet.yiaddr));
    }
    for (const forbidden of ['10.71.0.0', '10.71.0.1', '10.71.0.255', '10.71.0.50', '10.71.0.102']) expect(handed.has(forbidden)).toBe(false);
    expect(handed.size).toBe(254 - 3);
  });

  it('answers nothing when the pool is exhausted, with a warning, and does not crash', () => {
    const lab = new Lab();
    for (let i = 0; i < 3; i++) dora(lab, `02:00:00:02:00:0${i}`);
    const exchange = lab.handle(discover('02:00:00:02:00:09'));
    expect(exchange.replies).toEqual([]);
    expect(exchange.dropReason).toBe('pool-exhausted');
    expect(exchange.warning?.message).toMatch(/exhausted/);
  });

  it('reuses an expired lease once the pool has no fresh address', () => {
    const lab = new Lab();
    for (let i = 0; i < 3; i++) dora(lab, `02:00:00:03:00:0${i}`);
    lab.advance(3601);
    const address = formatIpv4(only(lab.handle(discover('02:00:00:03:00:09'))).packet.yiaddr);
    expect(['10.71.0.100', '10.71.0.101', '10.71.0.103']).toContain(address);
  });

  it('picks the pool of the relay\'s subnet and answers the relay on port 67', () => {
    const lab = new Lab();
    const offer = only(lab.handle(discover('02:00:00:00:00:06', { giaddr: '10.72.0.1' })));
    expect(formatIpv4(offer.packet.yiaddr)).toBe('10.72.0.10');
    expect(formatIpv4(offer.packet.giaddr)).toBe('10.72.0.1');
    expect(readOption(offer.packet.options, Option.router)).toEqual([ip('10.72.0.1')]);
    expect(offer.destination).toEqual({ address: ip('10.72.0.1'), port: 67, delivery: 'relay' });
  });

  it('ignores a relay from a subnet it does not serve', () => {
    const lab = new Lab();
    expect(lab.handle(discover('02:00:00:00:00:07', { giaddr: '192.168.5.1' })).dropReason).toBe('no-subnet-for-client');
  });

  it('echoes option 82 byte-exact, last', () => {
    const lab = new Lab();
    const relayInfo = Buffer.from([1, 4, 0xde, 0xad, 0xbe, 0xef, 2, 1, 9]);
    const offer = only(lab.handle(discover('02:00:00:00:00:08', { giaddr: '10.72.0.1', extra: [[82, relayInfo]] })));
    expect(offer.packet.options.get(82)!.equals(relayInfo)).toBe(true);
    expect([...offer.packet.options.keys()].at(-1)).toBe(82);
  });

  it('sizes the reply to option 57, dropping optional options first', () => {
    const lab = new Lab(LAB_YAML.replace('domain: lab.test', `domain: ${'a'.repeat(200)}.test`));
    const small = only(lab.handle(discover('02:00:00:00:00:09', { maxSize: 576, arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001', extra: [[97, Buffer.alloc(17)]] })));
    expect(encodePacket(small.packet).length).toBeLessThanOrEqual(576 - 28);
    expect(small.packet.options.has(67)).toBe(true);
    const big = only(lab.handle(discover('02:00:00:00:00:0a', { maxSize: 1500 })));
    expect(big.packet.options.has(15)).toBe(true);
  });
});

describe('reservations', () => {
  it.each(['52:54:00:aa:00:01', '52:54:00:AA:00:01'])('a reserved MAC (config spelled 52-54-00-AA-00-01) gets its address: %s', (mac) => {
    const lab = new Lab();
    expect(dora(lab, mac.toLowerCase())).toBe('10.71.0.50');
  });

  it('takes the reserved address back from a client that held it before the reservation', () => {
    const lab = new Lab(LAB_YAML.replace('ip: 10.71.0.102, ', ''));
    dora(lab, '02:00:00:00:01:01');
    dora(lab, '02:00:00:00:01:02');
    const squatter = dora(lab, '02:00:00:00:01:03');
    expect(squatter).toBe('10.71.0.102');
    const reserved = new Lab();
    reserved.table.load(lab.table.records());
    expect(dora(reserved, '52:54:00:aa:00:03')).toBe('10.71.0.102');
    // The squatter's renewal is refused, so it starts over and gets a pool address.
    const renewal = only(reserved.handle(request('02:00:00:00:01:03', { ciaddr: squatter })));
    expect(renewal.type).toBe(MessageType.Nak);
  });

  it('NAKs a reserved host asking for another address, so it comes back for its own', () => {
    const lab = new Lab();
    const nak = only(lab.handle(request('52:54:00:aa:00:01', { requested: '10.71.0.100' })));
    expect(nak.type).toBe(MessageType.Nak);
    expect(nak.destination.delivery).toBe('nak-broadcast');
  });
});

describe('REQUEST in each state (RFC 2131 §4.3.2)', () => {
  it('selecting: ACKs the offered address and persists it before replying', () => {
    const lab = new Lab();
    const address = formatIpv4(only(lab.handle(discover('02:00:00:00:02:01'))).packet.yiaddr);
    const exchange = lab.handle(request('02:00:00:00:02:01', { requested: address, serverId: SERVER }));
    expect(only(exchange).type).toBe(MessageType.Ack);
    expect(exchange.mustPersist).toMatchObject([{ mac: '02:00:00:00:02:01', ip: ip(address), state: 'bound' }]);
    expect(exchange.completed).toMatchObject({ mac: '02:00:00:00:02:01', ip: address });
  });

  it('selecting another server: stays silent and frees the held address', () => {
    const lab = new Lab();
    const address = only(lab.handle(discover('02:00:00:00:02:02'))).packet.yiaddr;
    const exchange = lab.handle(request('02:00:00:00:02:02', { requested: formatIpv4(address), serverId: '10.71.0.9' }));
    expect(exchange.replies).toEqual([]);
    expect(exchange.dropReason).toBe('other-server');
    expect(lab.table.isAvailableFor('02:00:00:00:02:99', address, lab.now)).toBe(true);
  });

  it('init-reboot: ACKs the client\'s own address, NAKs another network', () => {
    const lab = new Lab();
    const address = dora(lab, '02:00:00:00:02:03');
    expect(only(lab.handle(request('02:00:00:00:02:03', { requested: address }))).type).toBe(MessageType.Ack);
    const wrong = only(lab.handle(request('02:00:00:00:02:03', { requested: '192.168.1.5' })));
    expect(wrong.type).toBe(MessageType.Nak);
  });

  it('init-reboot for an address someone else holds is a NAK', () => {
    const lab = new Lab();
    const address = dora(lab, '02:00:00:00:02:04');
    expect(only(lab.handle(request('02:00:00:00:02:05', { requested: address }))).type).toBe(MessageType.Nak);
  });

  it('renewing: unicast ACK to ciaddr extends the lease', () => {
    const lab = new Lab();
    const address = dora(lab, '02:00:00:00:02:06');
    lab.advance(1800);
    const renew = lab.handle(request('02:00:00:00:02:06', { ciaddr: address }));
    const ack = only(renew);
    expect(ack.type).toBe(MessageType.Ack);
    expect(formatIpv4(ack.packet.ciaddr)).toBe(address);
    expect(ack.destination).toEqual({ address: ip(address), port: 68, delivery: 'client-address' });
    expect(renew.mustPersist[0]!.expiresAt).toBe(lab.now + 3600_000);
  });

  it('rebinding through a relay: ACK goes to the relay', () => {
    const lab = new Lab();
    const offer = only(lab.handle(discover('02:00:00:00:02:07', { giaddr: '10.72.0.1' })));
    const address = formatIpv4(offer.packet.yiaddr);
    only(lab.handle(request('02:00:00:00:02:07', { giaddr: '10.72.0.1', requested: address, serverId: SERVER })));
    const rebind = only(lab.handle(request('02:00:00:00:02:07', { giaddr: '10.72.0.1', ciaddr: address, flags: 0x8000 })));
    expect(rebind.type).toBe(MessageType.Ack);
    expect(rebind.destination.delivery).toBe('relay');
  });

  it('a REQUEST with no address at all is dropped, not answered', () => {
    const lab = new Lab();
    expect(lab.handle(request('02:00:00:00:02:08')).dropReason).toBe('request-without-address');
  });

  it('a rolled-back ACK (lease not persisted) leaves the table as it was', () => {
    const lab = new Lab();
    const address = only(lab.handle(discover('02:00:00:00:02:09'))).packet.yiaddr;
    const exchange = lab.handle(request('02:00:00:00:02:09', { requested: formatIpv4(address), serverId: SERVER }));
    exchange.rollback!();
    expect(lab.table.leaseOf('02:00:00:00:02:09')?.state).toBe('offered');
  });
});

describe('two clients racing for the last free address', () => {
  it('never both get it, whichever order their messages arrive in', () => {
    const orders = [
      ['d1', 'd2', 'r1', 'r2'], ['d1', 'd2', 'r2', 'r1'], ['d2', 'd1', 'r1', 'r2'], ['d1', 'r1', 'd2', 'r2'],
      ['i1', 'i2'], ['i2', 'i1'], ['d1', 'i2', 'r1'], ['i1', 'd2', 'r2'],
    ];
    for (const order of orders) {
      const lab = new Lab();
      dora(lab, '02:00:00:00:03:01');
      dora(lab, '02:00:00:00:03:02');
      // 10.71.0.103 is the last free pool address (102 is reserved).
      const last = '10.71.0.103';
      const macs = { 1: '02:00:00:00:03:11', 2: '02:00:00:00:03:12' } as const;
      const acked: string[] = [];
      for (const step of order) {
        const who = step[1] as '1' | '2';
        const mac = macs[who];
        const packet = step[0] === 'd' ? discover(mac) : step[0] === 'r' ? request(mac, { requested: last, serverId: SERVER }) : request(mac, { requested: last });
        const exchange = lab.handle(packet);
        for (const reply of exchange.replies) {
          if (messageTypeOf(reply.packet) === MessageType.Ack && formatIpv4(reply.packet.yiaddr) === last) acked.push(mac);
          if (messageTypeOf(reply.packet) === MessageType.Offer) expect(formatIpv4(reply.packet.yiaddr)).toBe(last);
        }
      }
      expect(acked.length, `order ${order.join(',')}`).toBeLessThanOrEqual(1);
    }
  });
});

describe('DECLINE, RELEASE, INFORM', () => {
  it('DECLINE keeps the address out of the pool for declineHold', () => {
    const lab = new Lab();
    const address = dora(lab, '02:00:00:00:04:01');
    const exchange = lab.handle(clientPacket({ type: MessageType.Decline, mac: '02:00:00:00:04:01', requested: address, serverId: SERVER }));
    expect(exchange.event?.kind).toBe('dhcp.decline');
    expect(exchange.persistLater[0]!.state).toBe('declined');
    const next = formatIpv4(only(lab.handle(discover('02:00:00:00:04:01'))).packet.yiaddr);
    expect(next).not.toBe(address);
    lab.advance(601);
    lab.table.sweep(lab.now);
    expect(lab.table.isAvailableFor('02:00:00:00:04:02', ip(address), lab.now)).toBe(true);
  });

  it('RELEASE frees the address and the same client gets it back next time', () => {
    const lab = new Lab();
    const address = dora(lab, '02:00:00:00:04:03');
    const exchange = lab.handle(clientPacket({ type: MessageType.Release, mac: '02:00:00:00:04:03', ciaddr: address, serverId: SERVER }));
    expect(exchange.replies).toEqual([]);
    expect(exchange.persistLater[0]).toMatchObject({ state: 'released' });
    expect(lab.table.isAvailableFor('02:00:00:00:04:99', ip(address), lab.now)).toBe(true);
    expect(dora(lab, '02:00:00:00:04:03')).toBe(address);
  });

  it('a RELEASE handled while the same client\'s next ACK waits for the disk is for the older binding: ignored', () => {
    const lab = new Lab();
    const mac = '02:00:00:00:04:05';
    const address = dora(lab, mac);
    lab.table.ackInFlight(mac, true); // the service: this ACK's record is being written
    const late = lab.handle(clientPacket({ type: MessageType.Release, mac, ciaddr: address, serverId: SERVER }));
    expect(late.dropReason).toBe('release-before-ack');
    expect(late.persistLater).toEqual([]);
    expect(lab.table.leaseOf(mac)?.state).toBe('bound');
    lab.table.ackInFlight(mac, false); // written and sent: a RELEASE now is the client's own
    const release = lab.handle(clientPacket({ type: MessageType.Release, mac, ciaddr: address, serverId: SERVER }));
    expect(release.persistLater[0]).toMatchObject({ state: 'released' });
  });

  /**
   * RELIABILITY.md gap 1. A client holding A sends RELEASE(A), then starts over (DISCOVER, REQUEST); the RELEASE
   * can reach netboot at any point of that exchange (another socket, another CPU's receive queue). Every
   * position but the last must leave A bound to the client, last record included. The service's part is
   * played here as it does it: ACK in flight from the decision until the journal write, then sent.
   */
  it('a RELEASE overtaken by the same client\'s next DISCOVER/REQUEST never outlives the new ACK, wherever it lands', () => {
    const positions = ['before-discover', 'before-request', 'ack-in-flight', 'just-after-ack', 'late-in-window', 'after-window'] as const;
    for (const position of positions) {
      const lab = new Lab();
      const mac = '02:00:00:00:04:07';
      const address = dora(lab, mac);
      const journal: { state: string; ip: number }[] = [];
      const carry = (exchange: Exchange): Exchange => {
        for (const record of [...exchange.persistLater, ...exchange.mustPersist]) journal.push({ state: record.state, ip: record.ip });
        return exchange;
      };
      const release = (): Exchange => carry(lab.handle(clientPacket({ type: MessageType.Release, mac, ciaddr: address, serverId: SERVER })));

      if (position === 'before-discover') release();
      lab.advance(0.001);
      const offer = only(carry(lab.handle(discover(mac))));
      expect(formatIpv4(offer.packet.yiaddr), position).toBe(address);
      if (position === 'before-request') release();
      const ack = carry(lab.handle(request(mac, { requested: address, serverId: SERVER })));
      expect(ack.ackBeforeBound, position).toBe(true);
      lab.table.ackInFlight(mac, true);
      if (position === 'ack-in-flight') expect(release().dropReason).toBe('release-before-ack');
      lab.advance(0.002); // the journal write
      lab.table.ackInFlight(mac, false);
      if (ack.releaseMayTrail) lab.table.expectLateRelease(mac, ip(address), lab.now + DHCP_LATE_RELEASE_MS);
      if (position === 'just-after-ack') expect(release().dropReason).toBe('release-overtaken');
      if (position === 'late-in-window') {
        lab.advance(DHCP_LATE_RELEASE_MS / 1000);
        expect(release().dropReason).toBe('release-overtaken');
      }
      if (position === 'after-window') {
        // Nothing tells this apart from the client releasing the lease it was just given: honoured (docs/dhcp.md).
        lab.advance(DHCP_LATE_RELEASE_MS / 1000 + 0.001);
        expect(release().dropReason).toBeNull();
        expect(lab.table.leaseOf(mac)?.state).toBe('released');
        continue;
      }
      expect(lab.table.leaseOf(mac), position).toMatchObject({ ip: ip(address), state: 'bound' });
      expect(journal.at(-1), position).toEqual({ state: 'bound', ip: ip(address) });
      // The trailing RELEASE is expected once: the client's own next RELEASE is honoured.
      if (position === 'just-after-ack' || position === 'late-in-window') expect(release().persistLater[0]).toMatchObject({ state: 'released' });
    }
  });

  it('no grace for a RELEASE after a binding whose RELEASE already came in order, nor after a renewal', () => {
    const lab = new Lab();
    const mac = '02:00:00:00:04:08';
    const address = dora(lab, mac);
    expect(lab.handle(clientPacket({ type: MessageType.Release, mac, ciaddr: address, serverId: SERVER })).dropReason).toBeNull();
    const offer = only(lab.handle(discover(mac)));
    const again = lab.handle(request(mac, { requested: formatIpv4(offer.packet.yiaddr), serverId: SERVER }));
    expect(again.ackBeforeBound).toBe(true);
    expect(again.releaseMayTrail).toBe(false);
    const renewal = lab.handle(clientPacket({ type: MessageType.Request, mac, ciaddr: address }));
    expect(renewal.ackBeforeBound).toBe(false);
    expect(renewal.releaseMayTrail).toBeFalsy();
    // INIT-REBOOT of a lease still held (a client restarted without releasing) may be trailed by the old RELEASE.
    const initReboot = lab.handle(request(mac, { requested: address }));
    expect(initReboot.ackBeforeBound).toBe(true);
    expect(initReboot.releaseMayTrail).toBe(true);
  });

  it('marks only ACKs to clients without a lease yet (SELECTING, INIT-REBOOT) as before-bound, not renewals', () => {
    const lab = new Lab();
    const mac = '02:00:00:00:04:06';
    const offer = only(lab.handle(discover(mac)));
    const selecting = lab.handle(clientPacket({ type: MessageType.Request, mac, requested: formatIpv4(offer.packet.yiaddr), serverId: SERVER }));
    expect(selecting.ackBeforeBound).toBe(true);
    const renewing = lab.handle(clientPacket({ type: MessageType.Request, mac, ciaddr: formatIpv4(offer.packet.yiaddr) }));
    expect(messageTypeOf(only(renewing).packet)).toBe(MessageType.Ack);
    expect(renewing.ackBeforeBound).toBe(false);
  });

  it('RELEASE / DECLINE for another server are ignored', () => {
    const lab = new Lab();
    const address = dora(lab, '02:00:00:00:04:04');
    expect(lab.handle(clientPacket({ type: MessageType.Release, mac: '02:00:00:00:04:04', ciaddr: address, serverId: '10.71.0.9' })).dropReason).toBe('other-server');
    expect(lab.table.leaseOf('02:00:00:00:04:04')?.state).toBe('bound');
  });

  it('INFORM gets an ACK with options, no address and no lease time, unicast to ciaddr', () => {
    const lab = new Lab();
    const ack = only(lab.handle(clientPacket({ type: MessageType.Inform, mac: '02:00:00:00:04:05', ciaddr: '10.71.0.200' })));
    expect(ack.type).toBe(MessageType.Ack);
    expect(ack.packet.yiaddr).toBe(0);
    expect(ack.packet.options.has(51)).toBe(false);
    expect(readOption(ack.packet.options, Option.subnetMask)).toBe(ip('255.255.255.0'));
    expect(ack.destination.address).toBe(ip('10.71.0.200'));
  });

  it.each([
    ['a reply (op 2)', () => { const p = discover('02:00:00:00:04:06'); p.op = 2; return p; }, 'not-a-request'],
    ['plain BOOTP', () => { const p = discover('02:00:00:00:04:07'); p.options.delete(53); return p; }, 'bootp-not-dhcp'],
    ['an OFFER sent to the server', () => clientPacket({ type: MessageType.Offer, mac: '02:00:00:00:04:08' }), 'unexpected-offer'],
    ['hlen 16', () => { const p = discover('02:00:00:00:04:09'); p.hlen = 16; return p; }, 'not-ethernet'],
  ])('drops %s with a reason', (_name, make, reason) => {
    expect(new Lab().handle(make()).dropReason).toBe(reason);
  });
});

describe('boot options from the policy', () => {
  const bootOf = (exchange: Exchange) => {
    const reply = only(exchange).packet;
    return { file: reply.file, option67: readOption(reply.options, Option.bootfileName), siaddr: formatIpv4(reply.siaddr), vendor: readOption(reply.options, Option.vendorClass), option66: readOption(reply.options, Option.tftpServerName) };
  };

  it.each([
    ['BIOS PXE ROM (93=0)', { arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001' }, 'undionly.kpxe', 'PXEClient'],
    ['OVMF (93=7)', { arch: 7, vendorClass: 'PXEClient:Arch:00007:UNDI:003000' }, 'snponly.efi', 'PXEClient'],
    ['UEFI x64 (93=9, RFC 4578 errata 4624)', { arch: 9, vendorClass: 'PXEClient:Arch:00009:UNDI:003000' }, 'snponly.efi', 'PXEClient'],
    ['UEFI arm64 (93=11)', { arch: 11, vendorClass: 'PXEClient:Arch:00011:UNDI:003000' }, 'snponly-arm64.efi', 'PXEClient'],
    ['UEFI HTTP boot (93=16)', { arch: 16, vendorClass: 'HTTPClient:Arch:00016:UNDI:003000' }, 'http://10.71.0.1:8080/tftp/snponly.efi', 'HTTPClient'],
    ['unknown arch 42 (default: BIOS)', { arch: 42, vendorClass: 'PXEClient:Arch:00042:UNDI:003000' }, 'undionly.kpxe', 'PXEClient'],
    ['iPXE (77 "iPXE")', { arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001', userClass: 'iPXE' }, 'http://10.71.0.1:8080/boot/52:54:00:aa:00:01.ipxe', null],
    ['iPXE (175 only)', { arch: 7, vendorClass: 'PXEClient:Arch:00007:UNDI:003000', ipxe: true }, 'http://10.71.0.1:8080/boot/52:54:00:aa:00:01.ipxe', null],
  ])('%s', (_name, facts, file, vendor) => {
    const lab = new Lab();
    const boot = bootOf(lab.handle(discover('52:54:00:aa:00:01', facts)));
    expect(boot.option67).toBe(file);
    expect(boot.file).toBe(file);
    expect(boot.vendor).toBe(vendor);
    expect(boot.siaddr).toBe('10.71.0.1');
    expect(boot.option66).toBe(file.startsWith('http') ? null : '10.71.0.1');
  });

  it('tells PXE firmware to use the boot file as given (43, discovery control 8) so EDK2 does not ask port 4011', () => {
    const lab = new Lab();
    const offer = only(lab.handle(discover('52:54:00:aa:00:01', { arch: 7, vendorClass: 'PXEClient:Arch:00007:UNDI:003000' })));
    expect(readPxeVendorOptions(offer.packet.options.get(43)!)!.discoveryControl! & 8).toBe(8);
    const ipxe = only(lab.handle(discover('52:54:00:aa:00:01', { arch: 7, userClass: 'iPXE', xid: 5 })));
    expect(ipxe.packet.options.has(43)).toBe(false);
    const laptop = only(lab.handle(discover('02:00:00:00:05:05')));
    expect(laptop.packet.options.has(43)).toBe(false);
  });

  it('tells iPXE not to wait for a proxyDHCP offer (175 / 176 no-pxedhcp), and only iPXE', () => {
    const lab = new Lab();
    const ipxe = only(lab.handle(discover('52:54:00:aa:00:01', { arch: 0, userClass: 'iPXE' })));
    expect(ipxe.packet.options.get(175)).toEqual(Buffer.from([176, 1, 1]));
    const firmware = only(lab.handle(discover('52:54:00:aa:00:02', { arch: 7, vendorClass: 'PXEClient:Arch:00007:UNDI:003000', xid: 6 })));
    expect(firmware.packet.options.has(175)).toBe(false);
  });

  it('logs an unknown architecture instead of crashing', () => {
    const lab = new Lab();
    const events = new EventLog();
    events.recordClient(lab.handle(discover('52:54:00:aa:00:01', { arch: 42 })).event!);
    expect(events.list()[0]!.details!.unknownArch).toBe(42);
  });

  it('an iPXE on a pxelinux profile is handed pxelinux, not its script', () => {
    const lab = new Lab();
    expect(bootOf(lab.handle(discover('52:54:00:aa:00:02', { arch: 0, userClass: 'iPXE' }))).option67).toBe('pxelinux.0');
  });

  it('echoes option 97 to a PXE client', () => {
    const lab = new Lab();
    const guid = Buffer.concat([Buffer.from([0]), Buffer.alloc(16, 0x5a)]);
    const offer = only(lab.handle(discover('52:54:00:aa:00:01', { arch: 0, vendorClass: 'PXEClient', extra: [[97, guid]] })));
    expect(offer.packet.options.get(97)!.equals(guid)).toBe(true);
  });

  it('an iPXE that does not identify itself (FlexBoot) gets its script after iPXE was handed out, not iPXE again', () => {
    const lab = new Lab();
    const firmware = { arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001' };
    expect(bootOf(lab.handle(discover('52:54:00:aa:00:01', firmware))).option67).toBe('undionly.kpxe');
    // ACK of the firmware's exchange: iPXE is handed out now.
    expect(bootOf(lab.handle(request('52:54:00:aa:00:01', { ...firmware, requested: '10.71.0.50', serverId: SERVER }))).option67).toBe('undionly.kpxe');
    // A retransmitted REQUEST of that same transaction is still the firmware.
    expect(bootOf(lab.handle(request('52:54:00:aa:00:01', { ...firmware, requested: '10.71.0.50', serverId: SERVER }))).option67).toBe('undionly.kpxe');
    lab.advance(5);
    const flexboot = bootOf(lab.handle(discover('52:54:00:aa:00:01', { ...firmware, xid: 0x77 })));
    expect(flexboot.option67).toBe('http://10.71.0.1:8080/boot/52:54:00:aa:00:01.ipxe');
    // A reboot much later starts from the firmware again.
    lab.advance(600);
    expect(bootOf(lab.handle(discover('52:54:00:aa:00:01', { ...firmware, xid: 0x78 }))).option67).toBe('undionly.kpxe');
  });
});

describe('proxy mode', () => {
  const proxyYaml = LAB_YAML.replace('mode: authoritative', 'mode: proxy');
  const proxy = () => new ProxyServer(() => labConfig(proxyYaml), () => ({ isOnceDone: () => false }));
  const source = { address: 0, port: 68 };

  it('answers a PXE DISCOVER with boot information and no address', () => {
    const exchange = proxy().handle({ packet: discover('52:54:00:aa:00:01', { arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001', flags: 0x8000 }), port: 'dhcp', source, now: 0 });
    const offer = only(exchange);
    expect(offer.type).toBe(MessageType.Offer);
    expect(offer.packet.yiaddr).toBe(0);
    expect(offer.packet.file).toBe('undionly.kpxe');
    expect(readOption(offer.packet.options, Option.vendorClass)).toBe('PXEClient');
    expect(readPxeVendorOptions(offer.packet.options.get(43)!)!.discoveryControl! & 8).toBe(8);
    expect(offer.packet.options.has(51)).toBe(false);
    expect(offer.packet.options.has(1)).toBe(false);
    expect(exchange.event?.kind).toBe('dhcp.proxy');
  });

  it('gives iPXE its script in a proxy offer it will recognise (option 60 PXEClient)', () => {
    const offer = only(proxy().handle({ packet: discover('52:54:00:aa:00:01', { arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001', userClass: 'iPXE' }), port: 'dhcp', source, now: 0 }));
    expect(offer.packet.yiaddr).toBe(0);
    expect(readOption(offer.packet.options, Option.vendorClass)).toBe('PXEClient');
    expect(readOption(offer.packet.options, Option.bootfileName)).toBe('http://10.71.0.1:8080/boot/52:54:00:aa:00:01.ipxe');
  });

  it('never answers a client that is not PXE', () => {
    const exchange = proxy().handle({ packet: discover('02:00:00:00:05:01', { hostName: 'laptop' }), port: 'dhcp', source, now: 0 });
    expect(exchange.replies).toEqual([]);
    expect(exchange.dropReason).toBe('proxy-not-pxe');
  });

  it('ignores the REQUEST a PXE client sends to the address server', () => {
    const exchange = proxy().handle({ packet: request('52:54:00:aa:00:01', { arch: 0, vendorClass: 'PXEClient', requested: '10.71.0.77', serverId: '10.71.0.9' }), port: 'dhcp', source, now: 0 });
    expect(exchange.replies).toEqual([]);
    expect(exchange.completed?.ip).toBe('10.71.0.77');
  });

  it('answers the 4011 follow-up with what port 67 offered, even after the iPXE handout was noted', () => {
    const lab = new Lab();
    const server = new ProxyServer(() => labConfig(proxyYaml), lab.memory.wrap({ isOnceDone: () => false }));
    const firmware = { arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001' };
    const offer = only(server.handle({ packet: discover('52:54:00:aa:00:01', firmware), port: 'dhcp', source, now: lab.now }));
    expect(offer.packet.file).toBe('undionly.kpxe');
    const chose = server.handle({ packet: request('52:54:00:aa:00:01', { ...firmware, requested: '10.71.0.77', serverId: '10.71.0.9' }), port: 'dhcp', source, now: lab.now });
    lab.memory.note(chose.handed!, chose.handedXid ?? null);
    const followUp = only(server.handle({ packet: request('52:54:00:aa:00:01', { ...firmware, ciaddr: '10.71.0.77', xid: 0x99 }), port: 'pxe', source: { address: ip('10.71.0.77'), port: 68 }, now: lab.now + 500 }));
    expect(followUp.packet.file).toBe('undionly.kpxe');
    // The iPXE it loaded, if it does not say it is iPXE, gets its script on its own DISCOVER.
    lab.advance(3);
    const again = only(server.handle({ packet: discover('52:54:00:aa:00:01', { ...firmware, xid: 0x100 }), port: 'dhcp', source, now: lab.now }));
    expect(again.packet.file).toBe('http://10.71.0.1:8080/boot/52:54:00:aa:00:01.ipxe');
  });

  it('answers a REQUEST on port 4011 with an ACK to where it came from', () => {
    const from = { address: ip('10.71.0.77'), port: 68 };
    const exchange = proxy().handle({ packet: request('52:54:00:aa:00:01', { arch: 7, vendorClass: 'PXEClient:Arch:00007:UNDI:003000', ciaddr: '10.71.0.77' }), port: 'pxe', source: from, now: 0 });
    const ack = only(exchange);
    expect(ack.type).toBe(MessageType.Ack);
    expect(ack.packet.file).toBe('snponly.efi');
    expect(ack.destination).toEqual({ address: ip('10.71.0.77'), port: 68, delivery: 'client-address' });
  });
});

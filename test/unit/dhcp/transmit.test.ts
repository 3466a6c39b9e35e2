import { describe, expect, it } from 'vitest';
import { MessageType } from '../../../src/dhcp/codec/constants.js';
import { chooseDestination, LIMITED_BROADCAST } from '../../../src/dhcp/transmit.js';
import { ip } from './helpers.js';

const ports = { server: 67, client: 68 };
const { Offer, Ack, Nak } = MessageType;

describe('chooseDestination (RFC 2131 §4.1)', () => {
  it.each([
    // giaddr, ciaddr, flags, reply → address, port, delivery
    ['relayed OFFER', '10.9.0.1', '0.0.0.0', 0, Offer, '10.9.0.1', 67, 'relay'],
    ['relayed NAK still goes to the relay', '10.9.0.1', '0.0.0.0', 0x8000, Nak, '10.9.0.1', 67, 'relay'],
    ['relayed renewal ACK goes to the relay', '10.9.0.1', '10.9.0.50', 0, Ack, '10.9.0.1', 67, 'relay'],
    ['renewal ACK unicast to ciaddr', '0.0.0.0', '10.1.0.50', 0, Ack, '10.1.0.50', 68, 'client-address'],
    ['NAK to a renewing client is broadcast', '0.0.0.0', '10.1.0.50', 0, Nak, '255.255.255.255', 68, 'nak-broadcast'],
    ['broadcast flag set', '0.0.0.0', '0.0.0.0', 0x8000, Offer, '255.255.255.255', 68, 'client-broadcast'],
    ['broadcast flag with other flag bits', '0.0.0.0', '0.0.0.0', 0x8001, Ack, '255.255.255.255', 68, 'client-broadcast'],
    ['no broadcast flag, no address: hardware unicast done as broadcast', '0.0.0.0', '0.0.0.0', 0, Offer, '255.255.255.255', 68, 'hardware-address-as-broadcast'],
  ] as const)('%s', (_name, giaddr, ciaddr, flags, type, address, port, delivery) => {
    const destination = chooseDestination({ giaddr: ip(giaddr), ciaddr: ip(ciaddr), flags }, type, ports);
    expect(destination).toEqual({ address: address === '255.255.255.255' ? LIMITED_BROADCAST : ip(address), port, delivery });
  });

  it('uses the configured client port (tests run clients on other ports)', () => {
    expect(chooseDestination({ giaddr: 0, ciaddr: 0, flags: 0x8000 }, Offer, { server: 1067, client: 1068 }).port).toBe(1068);
  });
});

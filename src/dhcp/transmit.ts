/**
 * Where a reply goes: RFC 2131 §4.1, as a pure function. The socket layer
 * only executes the answer.
 */
import { MessageType } from './codec/constants.js';
import { BROADCAST_FLAG } from './codec/constants.js';

export const LIMITED_BROADCAST = 0xffffffff;

export type Delivery =
  /** "If the giaddr field … is non-zero, the server sends any return messages to the 'DHCP server' port on the BOOTP relay agent whose address appears in giaddr." */
  | 'relay'
  /** "If the giaddr field is zero and the ciaddr field is nonzero, then the server unicasts DHCPOFFER and DHCPACK messages to the address in ciaddr." */
  | 'client-address'
  /** "In all cases, when 'giaddr' is zero, the server broadcasts any DHCPNAK messages to 0xffffffff." */
  | 'nak-broadcast'
  /** "If … ciaddr is zero, and the broadcast bit is set, then the server broadcasts DHCPOFFER and DHCPACK messages to 0xffffffff." */
  | 'client-broadcast'
  /**
   * "If the broadcast bit is not set and giaddr is zero and ciaddr is zero,
   * then the server unicasts DHCPOFFER and DHCPACK messages to the client's
   * hardware address and yiaddr address." That needs an ARP entry written
   * for an address the client does not have yet (a raw socket or SIOCSARP),
   * which a Node process cannot do; a broadcast on the boot segment reaches
   * the client just as well (it SHOULD accept broadcasts, §4.1), as dnsmasq
   * does when it cannot inject ARP.
   */
  | 'hardware-address-as-broadcast';

export interface Destination {
  address: number;
  port: number;
  delivery: Delivery;
}

export interface DestinationRequest {
  giaddr: number;
  ciaddr: number;
  flags: number;
}

export interface Ports {
  /** 67: relays listen on the server port. */
  server: number;
  /** 68: clients. */
  client: number;
}

export function chooseDestination(request: DestinationRequest, replyType: number, ports: Ports): Destination {
  if (request.giaddr !== 0) return { address: request.giaddr >>> 0, port: ports.server, delivery: 'relay' };
  if (replyType === MessageType.Nak) return { address: LIMITED_BROADCAST, port: ports.client, delivery: 'nak-broadcast' };
  if (request.ciaddr !== 0) return { address: request.ciaddr >>> 0, port: ports.client, delivery: 'client-address' };
  if ((request.flags & BROADCAST_FLAG) !== 0) return { address: LIMITED_BROADCAST, port: ports.client, delivery: 'client-broadcast' };
  return { address: LIMITED_BROADCAST, port: ports.client, delivery: 'hardware-address-as-broadcast' };
}

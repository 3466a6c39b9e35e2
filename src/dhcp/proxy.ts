/**
 * proxyDHCP (PXE specification 2.1 §2.2.3, the way dnsmasq's proxy mode and
 * pixiecore work): another DHCP server on the network hands out addresses;
 * netboot answers PXE clients only, with boot information and no address.
 *
 * - Port 67: a PXE client's DISCOVER gets an OFFER with yiaddr 0, option 60
 *   "PXEClient", option 43 "use this boot file" (discovery control 8), siaddr
 *   and the boot file. The client takes its address from the real server's
 *   offer and the boot file from ours.
 * - Port 4011: a PXE client may then ask the boot server directly (REQUEST
 *   or INFORM, unicast); it gets an ACK with the same boot information,
 *   sent back to the address and port it came from.
 * - Anything that is not PXE (a laptop, a phone) is never answered: in proxy
 *   mode the network is someone else's.
 */
import type { Config } from '../config/types.js';
import { formatIpv4 } from '../net/ipv4.js';
import { decideBoot, type BootDecision, type BootState } from '../policy/boot-policy.js';
import { identifyClient } from '../policy/client-identity.js';
import { BootOp, MessageType } from './codec/constants.js';
import { Option, readOption } from './codec/options.js';
import { clientMac, messageTypeOf, type DhcpPacket } from './codec/packet.js';
import { clientFactsOf } from './client-facts.js';
import { DHCP_EVENT, dropped, emptyExchange, type Exchange, type ExchangeEvent } from './exchange.js';
import { buildReply } from './reply.js';
import { firmwareLabel } from './server.js';
import { chooseDestination } from './transmit.js';

export interface ProxyArrival {
  packet: DhcpPacket;
  /** Which socket: the DHCP port (67) or the PXE boot-server port (4011). */
  port: 'dhcp' | 'pxe';
  /** Where the packet came from (port 4011 replies go back there). */
  source: { address: number; port: number };
  now: number;
}

/** How long the boot-server port answers what port 67 offered the same MAC (the follow-up comes within seconds). */
export const PROXY_OFFER_MEMORY_MS = 30_000;

export class ProxyServer {
  /**
   * The last proxy offer per MAC. The follow-up on 4011 gets the same boot
   * file: by then the firmware has chosen, and deciding again (with the iPXE
   * handout noted in between) could hand it something else.
   */
  private readonly offered = new Map<string, { decision: BootDecision; at: number }>();

  constructor(private readonly config: () => Config, private readonly bootState: (xid: number | null) => BootState) {}

  handle(arrival: ProxyArrival): Exchange {
    const { packet } = arrival;
    if (packet.op !== BootOp.Request) return dropped('not-a-request');
    const type = messageTypeOf(packet);
    if (type === null) return dropped('bootp-not-dhcp');
    const mac = clientMac(packet);
    if (mac === null) return dropped('not-ethernet');
    const config = this.config();
    const identity = identifyClient(clientFactsOf(packet, mac));
    if (!identity.isPxe) return dropped('proxy-not-pxe');
    const remembered = this.offered.get(mac);
    const followUp = arrival.port === 'pxe' && remembered !== undefined && arrival.now - remembered.at <= PROXY_OFFER_MEMORY_MS;
    const decided = followUp ? remembered.decision : decideBoot(config, identity, this.bootState(packet.xid));
    // iPXE (and PXE ROMs) recognise a proxyDHCP offer only by option 60 "PXEClient" with no
    // yiaddr (iPXE net/udp/dhcp.c: has_pxeclient); the policy leaves 60 out for iPXE, which is
    // right for an address offer but would make iPXE ignore this one.
    const decision = decided === null ? null : { ...decided, vendorClassReply: decided.vendorClassReply ?? 'PXEClient' as const };
    const host = config.hostsByMac.get(mac) ?? null;
    const event = (kind: ExchangeEvent['kind'], outcome: ExchangeEvent['outcome'], format: ExchangeEvent['format'], ip: number | null, quantity = 0): ExchangeEvent => ({
      kind, outcome, format, mac, ip, host: host?.name ?? null, firmware: firmwareLabel(identity),
      bootFile: decision?.bootFile ?? null, reason: decision?.reason ?? null, decided: true, unknownArch: null, quantity,
    });
    if (decision === null || decision.bootFile === null) {
      return dropped('proxy-no-boot-file', event('dhcp.ignored', 'harmless', DHCP_EVENT.proxyNothingToBoot, null));
    }
    const serverId = config.server.address;
    const exchange = emptyExchange();

    if (arrival.port === 'dhcp') {
      if (type === MessageType.Request) {
        // The client accepted the real server's address; what we offered (an iPXE binary, say) is what it boots next.
        const chosen = readOption(packet.options, Option.serverIdentifier);
        if (chosen === null || chosen === serverId) return exchange;
        exchange.handed = decision;
        exchange.handedXid = packet.xid;
        const leased = readOption(packet.options, Option.requestedAddress);
        const ip = leased === null ? '' : formatIpv4(leased);
        exchange.completed = { mac, ip, host: host?.name ?? null, firmware: firmwareLabel(identity), bootFile: decision.bootFile, reason: decision.reason };
        return exchange;
      }
      if (type !== MessageType.Discover) return dropped('proxy-unexpected-type');
      const reply = buildReply({ request: packet, type: MessageType.Offer, serverId, yiaddr: 0, leaseTimeS: null, subnet: null, decision });
      this.remember(mac, decision, arrival.now);
      exchange.replies.push({ packet: reply, destination: chooseDestination(packet, MessageType.Offer, { server: config.dhcp.port, client: config.dhcp.clientPort }) });
      exchange.event = event('dhcp.proxy', 'ok', DHCP_EVENT.proxyOffer, null);
      return exchange;
    }

    if (type !== MessageType.Request && type !== MessageType.Inform) return dropped('proxy-unexpected-type');
    const reply = buildReply({ request: packet, type: MessageType.Ack, serverId, yiaddr: 0, leaseTimeS: null, subnet: null, decision });
    const to = arrival.source.address !== 0 ? arrival.source.address : packet.ciaddr;
    exchange.replies.push({ packet: reply, destination: { address: to, port: arrival.source.port, delivery: 'client-address' } });
    exchange.event = event('dhcp.proxy', 'ok', DHCP_EVENT.proxyAck, to, config.dhcp.proxyPort);
    exchange.completed = { mac, ip: formatIpv4(to), host: host?.name ?? null, firmware: firmwareLabel(identity), bootFile: decision.bootFile, reason: decision.reason };
    exchange.handed = decision;
    exchange.handedXid = packet.xid;
    return exchange;
  }

  private remember(mac: string, decision: BootDecision, now: number): void {
    this.offered.set(mac, { decision, at: now });
    if (this.offered.size > 10_000) {
      for (const [key, entry] of this.offered) if (now - entry.at > PROXY_OFFER_MEMORY_MS) this.offered.delete(key);
    }
  }
}

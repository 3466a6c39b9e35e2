/**
 * The authoritative DHCP state machine (RFC 2131 §4.3): a packet and the
 * interface it came in on, in; replies and lease changes, out. No sockets,
 * no disk, no clock of its own: tests drive it with tables.
 *
 * Every decision reads and changes the lease table synchronously, so two
 * requests for one address are decided one after the other, never both yes.
 */
import type { Config, HostConfig } from '../config/types.js';
import { formatIpv4 } from '../net/ipv4.js';
import { decideBoot, type BootDecision, type BootState } from '../policy/boot-policy.js';
import { identifyClient, type ClientIdentity } from '../policy/client-identity.js';
import { BootOp, MessageType, messageTypeName } from './codec/constants.js';
import { Option, readOption } from './codec/options.js';
import { clientMac, messageTypeOf, type DhcpPacket } from './codec/packet.js';
import { clientFactsOf } from './client-facts.js';
import { DHCP_EVENT, dhcpMessage, dropped, emptyExchange, type Exchange, type ExchangeEvent } from './exchange.js';
import { LeaseTable, type Lease, type LeaseMeta } from './leases/lease-table.js';
import type { AddressPool } from './leases/pool.js';
import { buildReply } from './reply.js';
import { chooseDestination } from './transmit.js';

export interface Arrival {
  packet: DhcpPacket;
  /** The server address on the interface the packet arrived on (server.address with one boot interface). */
  ifaceAddress: number;
  /** Milliseconds since the epoch. */
  now: number;
}

export class DhcpServer {
  constructor(
    private readonly config: () => Config,
    readonly table: LeaseTable,
    /** The boot policy's runtime state for a request with this transaction id (see ipxe-memory.ts). */
    private readonly bootState: (xid: number | null) => BootState,
  ) {}

  handle(arrival: Arrival): Exchange {
    const { packet } = arrival;
    if (packet.op !== BootOp.Request) return dropped('not-a-request');
    const type = messageTypeOf(packet);
    if (type === null) return dropped('bootp-not-dhcp');
    const mac = clientMac(packet);
    if (mac === null || packet.htype !== 1) return dropped('not-ethernet');
    switch (type) {
      case MessageType.Discover: return this.discover(arrival, mac);
      case MessageType.Request: return this.request(arrival, mac);
      case MessageType.Decline: return this.decline(arrival, mac);
      case MessageType.Release: return this.release(arrival, mac);
      case MessageType.Inform: return this.inform(arrival, mac);
      default: return dropped(`unexpected-${messageTypeName(type)}`);
    }
  }

  private get serverId(): number {
    return this.config().server.address;
  }

  /** The pool of the client's network: the relay's subnet, else the arrival interface's (RFC 2131 §4.3.1). */
  private poolFor(arrival: Arrival): AddressPool | null {
    return this.table.poolFor(arrival.packet.giaddr !== 0 ? arrival.packet.giaddr : arrival.ifaceAddress);
  }

  private identify(packet: DhcpPacket, mac: string): { identity: ClientIdentity; host: HostConfig | null; decision: BootDecision | null } {
    const config = this.config();
    const identity = identifyClient(clientFactsOf(packet, mac));
    const host = config.hostsByMac.get(mac) ?? null;
    return { identity, host, decision: decideBoot(config, identity, this.bootState(packet.xid)) };
  }

  private meta(packet: DhcpPacket, host: HostConfig | null, identity: ClientIdentity): LeaseMeta {
    return {
      hostName: host?.name ?? readOption(packet.options, Option.hostName),
      firmware: firmwareLabel(identity),
      reserved: host?.ip != null,
    };
  }

  /** The reserved address of a known host, when it lies in the client's network. */
  private reservedAddress(host: HostConfig | null, pool: AddressPool): number | null {
    return host?.ip != null && pool.inSubnet(host.ip) ? host.ip : null;
  }

  private discover(arrival: Arrival, mac: string): Exchange {
    const { packet, now } = arrival;
    const pool = this.poolFor(arrival);
    if (pool === null) return dropped('no-subnet-for-client');
    const { identity, host, decision } = this.identify(packet, mac);
    const previous = this.table.leaseOf(mac);
    const reserved = this.reservedAddress(host, pool);
    let address: number | null = null;
    if (reserved !== null) {
      address = reserved;
    } else if (previous !== null && pool.contains(previous.ip) && this.table.isAvailableFor(mac, previous.ip, now)) {
      address = previous.ip;
    } else {
      const requested = readOption(packet.options, Option.requestedAddress);
      if (requested !== null && pool.contains(requested) && this.table.isAvailableFor(mac, requested, now)) address = requested;
      else address = this.table.allocate(pool, now);
    }
    if (address === null) {
      const exchange = dropped('pool-exhausted', this.event('dhcp.ignored', 'failure', dhcpMessage(`no free address in ${formatIpv4(pool.cidr.network)}/${pool.cidr.prefixLength} for ${mac}`), mac, null, host, identity));
      exchange.warning = { message: 'DHCP pool exhausted: DISCOVER not answered', fields: { mac, subnet: `${formatIpv4(pool.cidr.network)}/${pool.cidr.prefixLength}`, poolSize: pool.size } };
      return exchange;
    }
    const evicted = reserved !== null ? this.evictOther(reserved, mac) : null;
    const retried = previous !== null && previous.ip === address && previous.state === 'offered' && LeaseTable.isActive(previous, now);
    const config = this.config();
    this.table.offer(mac, address, now, config.dhcp.offerHoldS, this.meta(packet, host, identity));
    const reply = buildReply({
      request: packet, type: MessageType.Offer, serverId: this.serverId, yiaddr: address, leaseTimeS: config.dhcp.leaseTimeS,
      subnet: pool.subnet, decision, hostName: host?.name ?? null,
    });
    const exchange = emptyExchange();
    exchange.replies.push({ packet: reply, destination: chooseDestination(packet, MessageType.Offer, this.ports()) });
    exchange.event = this.event('dhcp.offer', retried ? 'harmless' : 'ok', retried ? DHCP_EVENT.offeredAgain : DHCP_EVENT.offered, mac, address, host, identity, decision);
    if (evicted !== null) exchange.persistLater.push({ ...LeaseTable.recordOf(evicted), state: 'released', expiresAt: now });
    return exchange;
  }

  /** A reservation takes its address back from whoever holds it (a lease from before the reservation was written). */
  private evictOther(address: number, mac: string): Lease | null {
    const holder = this.table.leaseAt(address);
    if (holder === null || holder.mac === mac) return null;
    return this.table.evict(address);
  }

  private request(arrival: Arrival, mac: string): Exchange {
    const { packet, now } = arrival;
    const serverIdOption = readOption(packet.options, Option.serverIdentifier);
    const requested = readOption(packet.options, Option.requestedAddress);
    let address: number;
    let phase: 'selecting' | 'init-reboot' | 'renewing' | 'rebinding';
    if (serverIdOption !== null) {
      if (serverIdOption !== this.serverId) {
        // RFC 2131 §4.3.2: the client chose another server's offer; our hold on an address for it can go.
        const lease = this.table.leaseOf(mac);
        if (lease !== null && lease.state === 'offered' && lease.boundUntil === null) this.table.release(mac, now);
        return dropped('other-server', this.event('dhcp.ignored', 'harmless', DHCP_EVENT.otherServer, mac, null, null, null, null, serverIdOption));
      }
      phase = 'selecting';
      address = requested ?? packet.ciaddr;
    } else if (requested !== null && packet.ciaddr === 0) {
      phase = 'init-reboot';
      address = requested;
    } else if (packet.ciaddr !== 0) {
      phase = packet.giaddr === 0 && (packet.flags & 0x8000) === 0 ? 'renewing' : 'rebinding';
      address = packet.ciaddr;
    } else {
      return dropped('request-without-address');
    }
    if (address === 0) return dropped('request-without-address');

    const pool = this.poolFor(arrival);
    const { identity, host, decision } = this.identify(packet, mac);
    if (pool === null || !pool.inSubnet(address)) {
      // RFC 2131 §4.3.2: init-reboot on the wrong network gets a NAK so the client starts over.
      return this.nak(arrival, mac, address, host, identity, `${formatIpv4(address)} is not on this network`);
    }
    const reserved = this.reservedAddress(host, pool);
    if (reserved !== null && address !== reserved) {
      return this.nak(arrival, mac, address, host, identity, `reserved address is ${formatIpv4(reserved)}`);
    }
    if (reserved === null && !this.table.isAvailableFor(mac, address, now)) {
      const holder = this.table.leaseAt(address);
      const why = holder !== null && holder.mac !== mac ? 'in use by another client' : 'not available';
      return this.nak(arrival, mac, address, host, identity, `${formatIpv4(address)} ${why}`);
    }
    if (reserved !== null) this.evictOther(reserved, mac);
    const config = this.config();
    // bind() puts a new Lease object in the table and never changes this one: it is the rollback's copy.
    const previous = this.table.leaseOf(mac);
    const lease = this.table.bind(mac, address, now, config.dhcp.leaseTimeS, this.meta(packet, host, identity));
    const reply = buildReply({
      request: packet, type: MessageType.Ack, serverId: this.serverId, yiaddr: address, leaseTimeS: config.dhcp.leaseTimeS,
      subnet: pool.subnet, decision, hostName: host?.name ?? null,
    });
    const exchange = emptyExchange();
    exchange.replies.push({ packet: reply, destination: chooseDestination(packet, MessageType.Ack, this.ports()) });
    exchange.mustPersist.push(LeaseTable.recordOf(lease));
    exchange.rollback = () => this.table.restore(previous, mac, address);
    exchange.event = this.event('dhcp.ack', 'ok', ACK_EVENT[phase], mac, address, host, identity, decision, config.dhcp.leaseTimeS);
    exchange.completed = {
      mac, ip: formatIpv4(address), host: host?.name ?? null, firmware: lease.firmware ?? firmwareLabel(identity),
      bootFile: decision?.bootFile ?? null, reason: decision?.reason ?? null,
    };
    exchange.handed = decision;
    exchange.handedXid = packet.xid;
    exchange.ackBeforeBound = phase === 'selecting' || phase === 'init-reboot';
    // The client started over (SELECTING, INIT-REBOOT) while we still held its binding of this address: if it
    // RELEASEd that binding first, the RELEASE has not arrived yet and may still, after this ACK (see release()).
    exchange.releaseMayTrail = exchange.ackBeforeBound && previous !== null && previous.ip === address && holdsBinding(previous, now);
    return exchange;
  }

  private nak(arrival: Arrival, mac: string, address: number, host: HostConfig | null, identity: ClientIdentity, why: string): Exchange {
    const { packet } = arrival;
    const reply = buildReply({ request: packet, type: MessageType.Nak, serverId: this.serverId, yiaddr: 0, leaseTimeS: null, subnet: null, decision: null, message: why });
    const exchange = emptyExchange();
    exchange.replies.push({ packet: reply, destination: chooseDestination(packet, MessageType.Nak, this.ports()) });
    exchange.event = this.event('dhcp.nak', 'failure', dhcpMessage(`NAK for ${formatIpv4(address)}: ${why}`), mac, address, host, identity);
    return exchange;
  }

  private decline(arrival: Arrival, mac: string): Exchange {
    const { packet, now } = arrival;
    const serverIdOption = readOption(packet.options, Option.serverIdentifier);
    if (serverIdOption !== null && serverIdOption !== this.serverId) return dropped('other-server');
    const address = readOption(packet.options, Option.requestedAddress);
    if (address === null) return dropped('decline-without-address');
    const lease = this.table.leaseOf(mac);
    if (lease === null || lease.ip !== address) return dropped('decline-not-ours');
    const record = { ...LeaseTable.recordOf(lease), state: 'declined' as const, expiresAt: now };
    this.table.decline(mac, address, now, this.config().dhcp.declineHoldS);
    const exchange = emptyExchange();
    exchange.persistLater.push(record);
    const host = this.config().hostsByMac.get(mac) ?? null;
    exchange.event = this.event('dhcp.decline', 'failure', DHCP_EVENT.declined, mac, address, host, null, null, this.config().dhcp.declineHoldS);
    exchange.warning = { message: 'DHCP address conflict: a client declined its address (another machine uses it without a lease?)', fields: { mac, ip: formatIpv4(address) } };
    return exchange;
  }

  private release(arrival: Arrival, mac: string): Exchange {
    const { packet, now } = arrival;
    const serverIdOption = readOption(packet.options, Option.serverIdentifier);
    if (serverIdOption !== null && serverIdOption !== this.serverId) return dropped('other-server');
    const lease = this.table.leaseOf(mac);
    if (lease === null || lease.ip !== packet.ciaddr) return dropped('release-not-ours');
    // A client in SELECTING or INIT-REBOOT holds no lease until its ACK arrives (RFC 2131 §4.4.1: RELEASE is sent
    // only from BOUND, RENEWING, REBINDING). While such an ACK waits for the disk, a RELEASE for the address is its
    // previous binding's, overtaken by the next DISCOVER/REQUEST. (A RELEASE during a *renewal* is the client's
    // own and is honoured.) RELEASE arrives unicast on the server-address
    // socket and DISCOVER/REQUEST by broadcast on the wildcard one; with a backlog on the first (libuv reads at
    // most 32 datagrams per socket per loop turn) the REQUEST can be handled first. Releasing here would put a
    // `released` record after the ACKed `bound` one (RELIABILITY.md gap 1).
    if (this.table.hasAckInFlight(mac)) return dropped('release-before-ack');
    // After that ACK is sent, the RELEASE of the binding it replaced can still trail in (a reordering of a few
    // milliseconds, e.g. the two packets taking different CPUs' receive queues): for a short while, when that
    // binding was still held, a RELEASE of the same address is taken for that one. Nothing distinguishes it from
    // the client releasing its new lease at once; wrongly kept, a lease stays bound until it expires (harmless);
    // wrongly released, an address the client uses could go to another (see DHCP_LATE_RELEASE_MS).
    if (this.table.takeLateRelease(mac, packet.ciaddr, now)) return dropped('release-overtaken');
    this.table.release(mac, now);
    const exchange = emptyExchange();
    exchange.persistLater.push(LeaseTable.recordOf(lease));
    const host = this.config().hostsByMac.get(mac) ?? null;
    exchange.event = this.event('dhcp.release', 'ok', DHCP_EVENT.released, mac, lease.ip, host, null);
    return exchange;
  }

  /** RFC 2131 §4.3.5: configuration without an address, unicast to ciaddr; no lease time. */
  private inform(arrival: Arrival, mac: string): Exchange {
    const { packet } = arrival;
    if (packet.ciaddr === 0) return dropped('inform-without-ciaddr');
    const pool = this.table.poolFor(packet.giaddr !== 0 ? packet.giaddr : packet.ciaddr);
    const { identity, host, decision } = this.identify(packet, mac);
    const reply = buildReply({
      request: packet, type: MessageType.Ack, serverId: this.serverId, yiaddr: 0, leaseTimeS: null,
      subnet: pool?.subnet ?? null, decision, hostName: host?.name ?? null,
    });
    const exchange = emptyExchange();
    exchange.replies.push({ packet: reply, destination: chooseDestination(packet, MessageType.Ack, this.ports()) });
    exchange.event = this.event('dhcp.inform', 'ok', DHCP_EVENT.informed, mac, packet.ciaddr, host, identity, decision);
    exchange.handed = decision;
    exchange.handedXid = packet.xid;
    return exchange;
  }

  private ports(): { server: number; client: number } {
    const dhcp = this.config().dhcp;
    return { server: dhcp.port, client: dhcp.clientPort };
  }

  /** The exchange's event as facts (no strings built: see exchange.ts); `quantity` is the number its format quotes. */
  private event(kind: ExchangeEvent['kind'], outcome: ExchangeEvent['outcome'], format: ExchangeEvent['format'], mac: string, ip: number | null, host: HostConfig | null, identity: ClientIdentity | null, decision: BootDecision | null = null, quantity = 0): ExchangeEvent {
    return {
      kind, outcome, format, mac, ip, host: host?.name ?? null, firmware: identity === null ? null : firmwareLabel(identity),
      bootFile: decision?.bootFile ?? null, reason: decision?.reason ?? null, decided: decision !== null,
      unknownArch: identity?.unknownArch ? identity.archCode : null, quantity,
    };
  }
}

/** The ACK's message by the client's state (RFC 2131 §4.3.2). */
const ACK_EVENT = {
  'selecting': DHCP_EVENT.ackSelecting,
  'init-reboot': DHCP_EVENT.ackInitReboot,
  'renewing': DHCP_EVENT.ackRenewing,
  'rebinding': DHCP_EVENT.ackRebinding,
} as const;

/** The lease is a binding still in force (bound, or an offer standing on one), not a bare offer or a released one. */
function holdsBinding(lease: Lease, now: number): boolean {
  if (lease.state === 'released' || !LeaseTable.isActive(lease, now)) return false;
  return lease.state === 'bound' || lease.boundUntil !== null;
}

/** Labels made once per firmware kind: they are kept in leases and events, so one string each rather than one per packet. */
const IPXE_LABELS = new Map<string, string>();
const HTTP_LABELS = new Map<string, string>();

function labelOnce(labels: Map<string, string>, firmware: string, stage: string): string {
  let label = labels.get(firmware);
  if (label === undefined) {
    label = `${firmware} ${stage}`;
    labels.set(firmware, label);
  }
  return label;
}

/** `bios`, `uefi-x64 ipxe`, `uefi-x64 http`: firmware and stage in one word for logs and leases. */
export function firmwareLabel(identity: ClientIdentity): string {
  if (!identity.isPxe) return 'os';
  if (identity.stage === 'ipxe') return labelOnce(IPXE_LABELS, identity.firmware, 'ipxe');
  return identity.httpBoot ? labelOnce(HTTP_LABELS, identity.firmware, 'http') : identity.firmware;
}

/** What the state machines (server.ts, proxy.ts) decide for one packet; the service carries it out. */
import { formatIpv4 } from '../net/ipv4.js';
import type { ClientEvent, EventFacts, EventFormat } from '../runtime/events.js';
import type { BootDecision } from '../policy/boot-policy.js';
import type { DhcpPacket } from './codec/packet.js';
import type { LeaseRecord } from './leases/lease-record.js';
import type { Destination } from './transmit.js';

export interface OutgoingReply {
  packet: DhcpPacket;
  destination: Destination;
}

/**
 * The exchange's event, as facts: EventLog.recordClient keeps them in its
 * columns and builds the message (one of the formats below) and details only
 * when /api/events reads them.
 */
export type ExchangeEvent = ClientEvent;

/** `details` of a DHCP event: the client, and the boot decision when one was asked for. */
function dhcpDetails(facts: EventFacts): Record<string, unknown> {
  const details: Record<string, unknown> = { mac: facts.mac, ip: facts.ip, host: facts.host, firmware: facts.firmware };
  if (facts.decided) {
    details.bootFile = facts.bootFile;
    details.reason = facts.reason;
  }
  if (facts.unknownArch !== null) details.unknownArch = facts.unknownArch;
  return details;
}

function dhcpFormat(message: (facts: EventFacts) => string): EventFormat {
  return { message, details: dhcpDetails };
}

/** The messages of DHCP events; `quantity` is what each says it is. */
export const DHCP_EVENT = {
  offered: dhcpFormat((facts) => `offered ${facts.ip}`),
  offeredAgain: dhcpFormat((facts) => `retried DISCOVER: offered ${facts.ip} again`),
  /** quantity: the lease time in seconds. */
  ackSelecting: dhcpFormat((facts) => `selecting: leased ${facts.ip} for ${facts.quantity}s`),
  ackInitReboot: dhcpFormat((facts) => `init-reboot: leased ${facts.ip} for ${facts.quantity}s`),
  ackRenewing: dhcpFormat((facts) => `renewing: renewed ${facts.ip} for ${facts.quantity}s`),
  ackRebinding: dhcpFormat((facts) => `rebinding: renewed ${facts.ip} for ${facts.quantity}s`),
  /** quantity: the server id the client chose. */
  otherServer: dhcpFormat((facts) => `REQUEST for server ${formatIpv4(facts.quantity)}, not this one`),
  /** quantity: how long the address is kept out of the pool, in seconds. */
  declined: dhcpFormat((facts) => `client found ${facts.ip} already in use on the network; kept out of the pool for ${facts.quantity}s`),
  released: dhcpFormat((facts) => `released ${facts.ip}`),
  informed: dhcpFormat((facts) => `INFORM from ${facts.ip} answered`),
  proxyNothingToBoot: dhcpFormat(() => 'PXE client with nothing to boot (no host entry and no default profile, or no loader for its firmware)'),
  proxyOffer: dhcpFormat((facts) => `proxy offer: boot file ${facts.bootFile}`),
  /** quantity: the boot-server port. */
  proxyAck: dhcpFormat((facts) => `boot server (port ${facts.quantity}) ack: boot file ${facts.bootFile}`),
} as const;

/** A message made for one event (NAK, pool exhausted): rare, so its text may be kept as it is. */
export function dhcpMessage(text: string): EventFormat {
  return dhcpFormat(() => text);
}

export interface Exchange {
  replies: OutgoingReply[];
  /** Lease records that must be on disk before the replies go out (ACKs). */
  mustPersist: LeaseRecord[];
  /** Records to write without holding anything up (RELEASE, DECLINE). */
  persistLater: LeaseRecord[];
  /** Undoes the table change when `mustPersist` cannot be written: the ACK is then not sent. */
  rollback: (() => void) | null;
  /** Why nothing was answered, for netboot_dhcp_dropped_total{reason}; null when answered or ignored by design. */
  dropReason: string | null;
  event: ExchangeEvent | null;
  /** A finished exchange (an ACK), for the one info log line per exchange. */
  completed: { mac: string; ip: string; host: string | null; firmware: string; bootFile: string | null; reason: string | null } | null;
  /** Something an admin must hear about (pool exhausted, address conflict). */
  warning: { message: string; fields: Record<string, unknown> } | null;
  /** The boot decision handed out, so the service can remember iPXE handouts once the reply is sent. */
  handed: BootDecision | null;
  /** The transaction that decision ended. */
  handedXid?: number;
  /**
   * An ACK to a client in SELECTING or INIT-REBOOT state (RFC 2131 §4.4.1), which holds no lease
   * it could RELEASE until this ACK reaches it; see server.ts release().
   */
  ackBeforeBound?: boolean;
  /**
   * That ACK replaced a binding of the same address still held for the client: a RELEASE of the old binding
   * may arrive after it is sent; the service notes it in the table then (LeaseTable.expectLateRelease).
   */
  releaseMayTrail?: boolean;
}

export function emptyExchange(): Exchange {
  return { replies: [], mustPersist: [], persistLater: [], rollback: null, dropReason: null, event: null, completed: null, warning: null, handed: null };
}

export function dropped(reason: string, event: ExchangeEvent | null = null): Exchange {
  return { ...emptyExchange(), dropReason: reason, event };
}

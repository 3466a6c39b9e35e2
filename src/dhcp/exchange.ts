/** What the state machines (server.ts, proxy.ts) decide for one packet; the service carries it out. */
import type { EventKind, BootEvent } from '../runtime/events.js';
import type { BootDecision } from '../policy/boot-policy.js';
import type { DhcpPacket } from './codec/packet.js';
import type { LeaseRecord } from './leases/lease-record.js';
import type { Destination } from './transmit.js';

export interface OutgoingReply {
  packet: DhcpPacket;
  destination: Destination;
}

export interface ExchangeEvent {
  kind: EventKind;
  outcome: BootEvent['outcome'];
  message: string;
  mac: string | null;
  ip: string | null;
  host: string | null;
  details: Record<string, unknown>;
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

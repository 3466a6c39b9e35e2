/**
 * Recent boot events per machine, so an admin can answer "why did node07 not
 * boot?" from /api/events. A bounded ring: memory stays flat however long
 * the appliance runs.
 *
 * The ring is columnar. DHCP records two events per exchange, 24,000 a second
 * under load, and each stays in the ring long enough to outlive the young
 * generation: stored as objects (event, message string, details, MAC and IP
 * text) every one was copied into old space and collected there, which cost
 * more CPU than the rest of the event path. A client event (recordClient) is
 * kept as numbers in typed arrays and references to strings that live long
 * anyway (host names from the config, firmware labels, the format); its
 * message and details are built only when the event is read (list(), or a
 * subscriber). Events from low-rate sources (record) are kept as objects.
 */
import { macFromBytes } from '../net/mac.js';
import { formatIpv4 } from '../net/ipv4.js';

export const EVENT_KINDS = [
  'dhcp.offer', 'dhcp.ack', 'dhcp.nak', 'dhcp.decline', 'dhcp.release', 'dhcp.inform', 'dhcp.ignored', 'dhcp.proxy',
  'tftp.start', 'tftp.done', 'tftp.failed', 'tftp.size-probe', 'tftp.refused',
  'http.file', 'http.script', 'http.kickstart', 'http.refused',
  'boot.done', 'boot.rearmed', 'state.error',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

const EVENT_OUTCOMES = ['ok', 'harmless', 'failure'] as const;
/** ok: progress; harmless: looks like a failure but is normal (EDK2 tsize probe, retried DISCOVER); failure: something went wrong. */
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];

export interface BootEvent {
  /** Milliseconds since the epoch. */
  time: number;
  kind: EventKind;
  /** The machine, when known (normalised MAC). */
  mac: string | null;
  /** Its address, when known. */
  ip: string | null;
  host: string | null;
  outcome: EventOutcome;
  message: string;
  details?: Record<string, unknown>;
}

/** What a client event's message and details are made of, as its format reads them back. */
export interface EventFacts {
  mac: string | null;
  ip: string | null;
  host: string | null;
  /** `bios`, `uefi-x64 ipxe`, … (see dhcp/server.ts firmwareLabel); null when the client was not identified. */
  firmware: string | null;
  bootFile: string | null;
  reason: string | null;
  /** A boot decision was asked for: bootFile and reason belong in the details (both null when nothing is booted). */
  decided: boolean;
  /** An option-93 architecture code not in the table, else null. */
  unknownArch: number | null;
  /** The one number the message quotes (a lease time, a port); 0 when none. */
  quantity: number;
}

/**
 * Builds one message shape from the facts. The ring keeps a reference to the
 * format of every event: a module constant costs nothing to keep (a format
 * made for one event, with its text inside, is for rare events only).
 */
export interface EventFormat {
  message(facts: EventFacts): string;
  details(facts: EventFacts): Record<string, unknown>;
}

/** A client event as its source records it: the facts, with the address as a number. */
export interface ClientEvent extends Omit<EventFacts, 'ip'> {
  kind: EventKind;
  outcome: EventOutcome;
  /** IPv4 address as an unsigned 32-bit number. */
  ip: number | null;
  format: EventFormat;
}

export const DEFAULT_EVENT_CAPACITY = 5000;

/** In the number columns: no MAC, no address, no architecture code. */
const NONE = -1;

export class EventLog {
  private next = 0;
  private count = 0;
  private readonly listeners = new Set<(event: BootEvent) => void>();

  // One entry per slot in each column. A slot holds either an event object
  // (`stored`) or a client event (`format` and the columns after it).
  private readonly time: Float64Array;
  private readonly kind: Uint8Array;
  private readonly outcome: Uint8Array;
  private readonly stored: (BootEvent | null)[];
  private readonly format: (EventFormat | null)[];
  /** 48-bit MAC, or NONE. */
  private readonly mac: Float64Array;
  /** IPv4 address, or NONE. */
  private readonly ip: Float64Array;
  private readonly quantity: Float64Array;
  /** Unknown architecture code, or NONE. */
  private readonly unknownArch: Int32Array;
  private readonly decided: Uint8Array;
  private readonly host: (string | null)[];
  private readonly firmware: (string | null)[];
  private readonly bootFile: (string | null)[];
  private readonly reason: (string | null)[];
  /** Appended to the message in parentheses (what the lease file did to an ACK). */
  private readonly note: (string | null)[];

  constructor(readonly capacity = DEFAULT_EVENT_CAPACITY) {
    this.time = new Float64Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.outcome = new Uint8Array(capacity);
    this.stored = new Array<BootEvent | null>(capacity).fill(null);
    this.format = new Array<EventFormat | null>(capacity).fill(null);
    this.mac = new Float64Array(capacity);
    this.ip = new Float64Array(capacity);
    this.quantity = new Float64Array(capacity);
    this.unknownArch = new Int32Array(capacity);
    this.decided = new Uint8Array(capacity);
    this.host = new Array<string | null>(capacity).fill(null);
    this.firmware = new Array<string | null>(capacity).fill(null);
    this.bootFile = new Array<string | null>(capacity).fill(null);
    this.reason = new Array<string | null>(capacity).fill(null);
    this.note = new Array<string | null>(capacity).fill(null);
  }

  record(event: Omit<BootEvent, 'time'> & { time?: number }): void {
    const full: BootEvent = { ...event, time: event.time ?? Date.now() };
    const slot = this.claimSlot();
    this.stored[slot] = full;
    this.format[slot] = null;
    this.time[slot] = full.time;
    for (const listener of this.listeners) listener(full);
  }

  /**
   * Records a client event without building its message: see the top of the
   * file. `note` is appended to the message in parentheses; `outcome`
   * overrides the event's. A MAC not in normalised form is kept as an object.
   */
  recordClient(event: ClientEvent, note: string | null = null, outcome: EventOutcome = event.outcome, time = Date.now()): void {
    const mac = event.mac === null ? NONE : macNumber(event.mac);
    if (mac === NONE && event.mac !== null) {
      this.record(materialise(event.format, factsOf(event), event.kind, outcome, note, time));
      return;
    }
    const slot = this.claimSlot();
    this.stored[slot] = null;
    this.format[slot] = event.format;
    this.time[slot] = time;
    this.kind[slot] = EVENT_KINDS.indexOf(event.kind);
    this.outcome[slot] = EVENT_OUTCOMES.indexOf(outcome);
    this.mac[slot] = mac;
    this.ip[slot] = event.ip ?? NONE;
    this.quantity[slot] = event.quantity;
    this.unknownArch[slot] = event.unknownArch ?? NONE;
    this.decided[slot] = event.decided ? 1 : 0;
    this.host[slot] = event.host;
    this.firmware[slot] = event.firmware;
    this.bootFile[slot] = event.bootFile;
    this.reason[slot] = event.reason;
    this.note[slot] = note;
    if (this.listeners.size === 0) return;
    const full = this.eventAt(slot);
    for (const listener of this.listeners) listener(full);
  }

  /** Newest last. `mac` filters to one machine; `limit` (1 or more) keeps the newest N. */
  list(filter: { mac?: string; limit?: number } = {}): BootEvent[] {
    const wanted = filter.mac;
    const wantedNumber = wanted === undefined ? NONE : macNumber(wanted);
    const keep = filter.limit === undefined || !(filter.limit >= 1) ? Infinity : Math.floor(filter.limit);
    const slots: number[] = [];
    // Newest first, so a small limit reads only what it keeps.
    for (let back = 1; back <= this.count && slots.length < keep; back++) {
      const slot = (this.next - back + this.capacity) % this.capacity;
      if (wanted !== undefined && !this.isOf(slot, wanted, wantedNumber)) continue;
      slots.push(slot);
    }
    return slots.reverse().map((slot) => this.eventAt(slot));
  }

  /**
   * The newest event of each machine, by MAC (what list() ends with for it).
   * One pass over the ring; only the events looked up are built (the host
   * list asks every two seconds, for its hosts only). Look up at once: a
   * later event can take the slot.
   */
  latestByMac(): { get(mac: string): BootEvent | undefined } {
    const newestSlot = new Map<string | number, number>();
    for (let back = 1; back <= this.count; back++) {
      const slot = (this.next - back + this.capacity) % this.capacity;
      const key = this.macKey(slot);
      if (key !== null && !newestSlot.has(key)) newestSlot.set(key, slot);
    }
    return {
      get: (mac) => {
        const asNumber = macNumber(mac);
        const slot = newestSlot.get(asNumber === NONE ? mac : asNumber);
        return slot === undefined ? undefined : this.eventAt(slot);
      },
    };
  }

  /** Called for every new event (the demo's progress display, tests); returns an unsubscribe function. */
  subscribe(listener: (event: BootEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private claimSlot(): number {
    const slot = this.next;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
    return slot;
  }

  /** The slot's MAC as a number when normalised (as the text it was given otherwise); null when it has none. */
  private macKey(slot: number): string | number | null {
    const stored = this.stored[slot] ?? null;
    if (stored === null) return this.mac[slot] === NONE ? null : this.mac[slot]!;
    if (stored.mac === null) return null;
    const asNumber = macNumber(stored.mac);
    return asNumber === NONE ? stored.mac : asNumber;
  }

  private isOf(slot: number, mac: string, macAsNumber: number): boolean {
    const stored = this.stored[slot] ?? null;
    if (stored !== null) return stored.mac === mac;
    return macAsNumber !== NONE && this.mac[slot] === macAsNumber;
  }

  private eventAt(slot: number): BootEvent {
    const stored = this.stored[slot] ?? null;
    if (stored !== null) return stored;
    const mac = this.mac[slot]!;
    const ip = this.ip[slot]!;
    const unknownArch = this.unknownArch[slot]!;
    const facts: EventFacts = {
      mac: mac === NONE ? null : macText(mac),
      ip: ip === NONE ? null : formatIpv4(ip),
      host: this.host[slot] ?? null,
      firmware: this.firmware[slot] ?? null,
      bootFile: this.bootFile[slot] ?? null,
      reason: this.reason[slot] ?? null,
      decided: this.decided[slot] === 1,
      unknownArch: unknownArch === NONE ? null : unknownArch,
      quantity: this.quantity[slot]!,
    };
    return materialise(this.format[slot]!, facts, EVENT_KINDS[this.kind[slot]!]!, EVENT_OUTCOMES[this.outcome[slot]!]!, this.note[slot] ?? null, this.time[slot]!);
  }
}

/** The event as record() would have stored it (same fields, same order). */
function materialise(format: EventFormat, facts: EventFacts, kind: EventKind, outcome: EventOutcome, note: string | null, time: number): BootEvent {
  const message = format.message(facts);
  return {
    kind, outcome, message: note === null ? message : `${message} (${note})`,
    mac: facts.mac, ip: facts.ip, host: facts.host, details: format.details(facts), time,
  };
}

function factsOf(event: ClientEvent): EventFacts {
  return {
    mac: event.mac, ip: event.ip === null ? null : formatIpv4(event.ip), host: event.host, firmware: event.firmware,
    bootFile: event.bootFile, reason: event.reason, decided: event.decided, unknownArch: event.unknownArch, quantity: event.quantity,
  };
}

/** `52:54:00:ab:cd:ef` (lower case, colons: the normalised form) as a 48-bit number; NONE for any other text. */
export function macNumber(mac: string): number {
  if (mac.length !== 17) return NONE;
  let value = 0;
  for (let i = 0; i < 17; i++) {
    const code = mac.charCodeAt(i);
    if (i % 3 === 2) {
      if (code !== 0x3a) return NONE;
      continue;
    }
    const digit = code >= 0x30 && code <= 0x39 ? code - 0x30 : code >= 0x61 && code <= 0x66 ? code - 0x57 : NONE;
    if (digit === NONE) return NONE;
    value = value * 16 + digit;
  }
  return value;
}

const macBytes = new Uint8Array(6);

/** The normalised text of a 48-bit MAC number (macNumber's inverse). */
export function macText(value: number): string {
  let rest = value;
  for (let i = 5; i >= 0; i--) {
    macBytes[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return macFromBytes(macBytes);
}

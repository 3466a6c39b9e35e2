/**
 * Recent boot events per machine, so an admin can answer "why did node07 not
 * boot?" from /api/events. A bounded ring: memory stays flat however long
 * the appliance runs.
 */

export type EventKind =
  | 'dhcp.offer' | 'dhcp.ack' | 'dhcp.nak' | 'dhcp.decline' | 'dhcp.release' | 'dhcp.inform' | 'dhcp.ignored' | 'dhcp.proxy'
  | 'tftp.start' | 'tftp.done' | 'tftp.failed' | 'tftp.size-probe' | 'tftp.refused'
  | 'http.file' | 'http.script' | 'http.kickstart' | 'http.refused'
  | 'boot.done' | 'boot.rearmed' | 'state.error';

export interface BootEvent {
  /** Milliseconds since the epoch. */
  time: number;
  kind: EventKind;
  /** The machine, when known (normalised MAC). */
  mac: string | null;
  /** Its address, when known. */
  ip: string | null;
  host: string | null;
  /** ok: progress; harmless: looks like a failure but is normal (EDK2 tsize probe, retried DISCOVER); failure: something went wrong. */
  outcome: 'ok' | 'harmless' | 'failure';
  message: string;
  details?: Record<string, unknown>;
}

export const DEFAULT_EVENT_CAPACITY = 5000;

export class EventLog {
  private readonly ring: (BootEvent | undefined)[];
  private next = 0;
  private count = 0;
  private readonly listeners = new Set<(event: BootEvent) => void>();

  constructor(readonly capacity = DEFAULT_EVENT_CAPACITY) {
    this.ring = new Array(capacity);
  }

  record(event: Omit<BootEvent, 'time'> & { time?: number }): void {
    const full: BootEvent = { ...event, time: event.time ?? Date.now() };
    this.ring[this.next] = full;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
    for (const listener of this.listeners) listener(full);
  }

  /** Newest last. `mac` filters to one machine; `limit` keeps the newest N. */
  list(filter: { mac?: string; limit?: number } = {}): BootEvent[] {
    const events: BootEvent[] = [];
    for (let i = 0; i < this.count; i++) {
      const event = this.ring[(this.next - this.count + i + this.capacity) % this.capacity]!;
      if (filter.mac === undefined || event.mac === filter.mac) events.push(event);
    }
    return filter.limit === undefined ? events : events.slice(-filter.limit);
  }

  /** Called for every new event (the demo's progress display, tests); returns an unsubscribe function. */
  subscribe(listener: (event: BootEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

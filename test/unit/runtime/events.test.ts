import { describe, expect, it } from 'vitest';
import { EventLog, macNumber, macText, type BootEvent, type ClientEvent, type EventFormat } from '../../../src/runtime/events.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';

/** A format that says which facts it was given, so a test sees exactly what the ring kept. */
const ECHO: EventFormat = {
  message: (facts) => `${facts.mac ?? '-'} ${facts.ip ?? '-'} #${facts.quantity}`,
  details: (facts) => ({ ...facts }),
};

function clientEvent(overrides: Partial<ClientEvent> = {}): ClientEvent {
  return {
    kind: 'dhcp.offer', outcome: 'ok', format: ECHO, mac: '52:54:00:12:34:56', ip: parseIpv4('10.0.0.7'), host: null,
    firmware: null, bootFile: null, reason: null, decided: false, unknownArch: null, quantity: 0, ...overrides,
  };
}

/** A plain event, as TFTP and HTTP record them. */
function plain(mac: string | null, message: string): Omit<BootEvent, 'time'> & { time: number } {
  return { kind: 'tftp.start', mac, ip: '127.0.0.1', host: null, outcome: 'ok', message, time: 1 };
}

describe('EventLog', () => {
  describe('client events are kept as facts and read back as the event they describe', () => {
    const cases: { name: string; event: Partial<ClientEvent>; note?: string; outcome?: 'failure'; expected: Omit<BootEvent, 'time'> }[] = [
      {
        name: 'all facts',
        event: { mac: 'ff:ee:dd:cc:bb:aa', ip: parseIpv4('255.254.0.1'), host: 'node01', firmware: 'uefi-x64 ipxe', bootFile: 'a.efi', reason: 'why', decided: true, unknownArch: 42, quantity: 3600 },
        expected: {
          kind: 'dhcp.offer', outcome: 'ok', message: 'ff:ee:dd:cc:bb:aa 255.254.0.1 #3600', mac: 'ff:ee:dd:cc:bb:aa', ip: '255.254.0.1', host: 'node01',
          details: { mac: 'ff:ee:dd:cc:bb:aa', ip: '255.254.0.1', host: 'node01', firmware: 'uefi-x64 ipxe', bootFile: 'a.efi', reason: 'why', decided: true, unknownArch: 42, quantity: 3600 },
        },
      },
      {
        name: 'no MAC, no address, architecture 0',
        event: { mac: null, ip: null, unknownArch: 0 },
        expected: {
          kind: 'dhcp.offer', outcome: 'ok', message: '- - #0', mac: null, ip: null, host: null,
          details: { mac: null, ip: null, host: null, firmware: null, bootFile: null, reason: null, decided: false, unknownArch: 0, quantity: 0 },
        },
      },
      {
        name: 'address 0.0.0.0 and MAC 00:…:00 are values, not "none"',
        event: { mac: '00:00:00:00:00:00', ip: 0 },
        expected: {
          kind: 'dhcp.offer', outcome: 'ok', message: '00:00:00:00:00:00 0.0.0.0 #0', mac: '00:00:00:00:00:00', ip: '0.0.0.0', host: null,
          details: { mac: '00:00:00:00:00:00', ip: '0.0.0.0', host: null, firmware: null, bootFile: null, reason: null, decided: false, unknownArch: null, quantity: 0 },
        },
      },
      {
        name: 'a note and an outcome from the service',
        event: { kind: 'dhcp.ack', quantity: 60 }, note: 'not sent', outcome: 'failure',
        expected: {
          kind: 'dhcp.ack', outcome: 'failure', message: '52:54:00:12:34:56 10.0.0.7 #60 (not sent)', mac: '52:54:00:12:34:56', ip: '10.0.0.7', host: null,
          details: { mac: '52:54:00:12:34:56', ip: '10.0.0.7', host: null, firmware: null, bootFile: null, reason: null, decided: false, unknownArch: null, quantity: 60 },
        },
      },
      {
        name: 'a MAC not in normalised form is kept as given (as an object)',
        event: { mac: '52-54-00-12-34-56' },
        expected: {
          kind: 'dhcp.offer', outcome: 'ok', message: '52-54-00-12-34-56 10.0.0.7 #0', mac: '52-54-00-12-34-56', ip: '10.0.0.7', host: null,
          details: { mac: '52-54-00-12-34-56', ip: '10.0.0.7', host: null, firmware: null, bootFile: null, reason: null, decided: false, unknownArch: null, quantity: 0 },
        },
      },
    ];
    for (const { name, event, note, outcome, expected } of cases) {
      it(name, () => {
        const log = new EventLog(4);
        const heard: BootEvent[] = [];
        log.subscribe((full) => heard.push(full));
        const full = clientEvent(event);
        log.recordClient(full, note ?? null, outcome ?? full.outcome, 1234);
        expect(log.list()).toEqual([{ ...expected, time: 1234 }]);
        // Same fields in the same order as record() kept them: /api/events JSON does not change.
        expect(JSON.stringify(log.list()[0])).toBe(JSON.stringify({ ...expected, time: 1234 }));
        expect(heard).toEqual([{ ...expected, time: 1234 }]);
      });
    }
  });

  it('builds nothing when nobody reads: a format is called only by list() and subscribers', () => {
    let built = 0;
    const counting: EventFormat = { message: () => { built += 1; return 'm'; }, details: () => ({}) };
    const log = new EventLog(3);
    for (let i = 0; i < 10; i++) log.recordClient(clientEvent({ format: counting }));
    expect(built).toBe(0);
    expect(log.list()).toHaveLength(3);
    expect(built).toBe(3);
    const stop = log.subscribe(() => {});
    log.recordClient(clientEvent({ format: counting }));
    expect(built).toBe(4);
    stop();
    log.recordClient(clientEvent({ format: counting }));
    expect(built).toBe(4);
  });

  describe('ring: wrap-around, filter by MAC, limit, plain and client events mixed', () => {
    // Events 0..n-1; even ones from client A as facts, odd ones from B (every third as a plain event); capacity 5.
    const A = '02:00:00:00:00:0a';
    const B = '02:00:00:00:00:0b';
    function fill(count: number): EventLog {
      const log = new EventLog(5);
      for (let i = 0; i < count; i++) {
        const mac = i % 2 === 0 ? A : B;
        if (i % 3 === 0) log.record(plain(mac, `plain ${i}`));
        else log.recordClient(clientEvent({ mac, quantity: i }), null, 'ok', i);
      }
      return log;
    }
    const tag = (event: BootEvent): string => event.message.startsWith('plain') ? event.message.slice(6) : event.message.split('#')[1]!;
    const cases: { recorded: number; filter: { mac?: string; limit?: number }; expected: string[] }[] = [
      { recorded: 0, filter: {}, expected: [] },
      { recorded: 3, filter: {}, expected: ['0', '1', '2'] },
      { recorded: 5, filter: {}, expected: ['0', '1', '2', '3', '4'] },
      { recorded: 6, filter: {}, expected: ['1', '2', '3', '4', '5'] },
      { recorded: 13, filter: {}, expected: ['8', '9', '10', '11', '12'] },
      { recorded: 13, filter: { mac: A }, expected: ['8', '10', '12'] },
      { recorded: 13, filter: { mac: B }, expected: ['9', '11'] },
      { recorded: 13, filter: { mac: '02:00:00:00:00:0c' }, expected: [] },
      { recorded: 13, filter: { mac: '02-00-00-00-00-0A' }, expected: [] },
      { recorded: 13, filter: { limit: 2 }, expected: ['11', '12'] },
      { recorded: 13, filter: { limit: 1 }, expected: ['12'] },
      { recorded: 13, filter: { limit: 99 }, expected: ['8', '9', '10', '11', '12'] },
      { recorded: 13, filter: { mac: A, limit: 2 }, expected: ['10', '12'] },
      { recorded: 13, filter: { mac: B, limit: 5 }, expected: ['9', '11'] },
      { recorded: 3, filter: { mac: A, limit: 1 }, expected: ['2'] },
    ];
    for (const { recorded, filter, expected } of cases) {
      it(`${recorded} recorded, ${JSON.stringify(filter)} → ${expected.join(',') || 'none'}`, () => {
        expect(fill(recorded).list(filter).map(tag)).toEqual(expected);
      });
    }

    it('latestByMac: the newest event of each machine, as list() ends with it', () => {
      for (const recorded of [0, 1, 2, 3, 7, 13]) {
        const log = fill(recorded);
        const latest = log.latestByMac();
        for (const mac of [A, B, '02:00:00:00:00:0c', '02-00-00-00-00-0A']) {
          expect(latest.get(mac)).toEqual(log.list({ mac }).at(-1));
        }
      }
      const log = new EventLog(3);
      log.record(plain('52-54-00-12-34-56', 'given as typed'));
      log.record(plain(null, 'no machine'));
      expect(log.latestByMac().get('52-54-00-12-34-56')?.message).toBe('given as typed');
    });

    it('a plain event overwritten by a client event (and back) reads as the new one', () => {
      const log = new EventLog(1);
      log.record(plain(A, 'plain 0'));
      log.recordClient(clientEvent({ mac: B, quantity: 1 }));
      expect(log.list().map(tag)).toEqual(['1']);
      expect(log.list({ mac: A })).toEqual([]);
      log.record(plain(A, 'plain 2'));
      expect(log.list({ mac: B })).toEqual([]);
      expect(log.list({ mac: A }).map(tag)).toEqual(['2']);
    });
  });

  describe('MAC numbers', () => {
    for (const mac of ['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '52:54:00:ab:cd:ef', '01:23:45:67:89:0a']) {
      it(`${mac} round-trips`, () => {
        expect(macNumber(mac)).toBeGreaterThanOrEqual(0);
        expect(macText(macNumber(mac))).toBe(mac);
      });
    }
    for (const text of ['52:54:00:AB:CD:EF', '52-54-00-ab-cd-ef', '525400abcdef', '52:54:00:ab:cd:eg', '52:54:00:ab:cd:e', '52:54:00:ab:cd:eff', '']) {
      it(`"${text}" is not the normalised form`, () => {
        expect(macNumber(text)).toBe(-1);
      });
    }
  });
});

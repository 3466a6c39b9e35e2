/**
 * Gap 9 of RELIABILITY.md: memory after a scan of hostile URLs. What the HTTP
 * side keeps per request is an event in the 5,000-entry ring, a log line and
 * a metrics series; none of them may grow with what the client sends.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHttpApp } from '../../../src/http/app.js';
import { CLIENT_TEXT_MAX_CHARS, clientText } from '../../../src/http/client.js';
import { HTTP_REQUESTS_METRIC } from '../../../src/http/routes/metrics.js';
import { DEFAULT_EVENT_CAPACITY } from '../../../src/runtime/events.js';
import { makeLab, type Lab } from './lab.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1048576;
}

/** Distinct hostile URLs of every kind the file routes refuse or miss, each long (up to Node's 16 KiB header limit). */
function hostileUrl(i: number): string {
  const long = 'x'.repeat(12_000);
  const tail = `?${'q'.repeat(12_000)}${i}`;
  switch (i % 8) {
    case 0: return `/tftp/%2e%2e/${long}${i}`;
    case 1: return `/tftp/missing/${long}${i}`;
    case 2: return `/trees/debian12/.${long}${i}`;
    case 3: return `/tftp/%2e%2e/etc/passwd${tail}`; // a short path cut from a long URL
    case 4: return `/tftp/no/such/kernel-${i}${tail}`;
    case 5: return `/nothing/${long}${i}`;
    case 6: return `/tftp/demo/initrd.img${tail}`; // served: the transfer's file name must not pin the URL either
    default: return `/trees/debian12/%2fetc%2f${long}${i}`;
  }
}

function httpSeries(lab: Lab): number {
  return (lab.metrics.render().match(new RegExp(`^${HTTP_REQUESTS_METRIC}\\{`, 'gm')) ?? []).length;
}

const labs: Lab[] = [];
afterEach(() => { for (const lab of labs.splice(0)) lab.cleanup(); });

describe('clientText', () => {
  it('keeps short text as is and cuts long text, saying how long it was', () => {
    expect(clientText('/tftp/demo/vmlinuz')).toBe('/tftp/demo/vmlinuz');
    const cut = clientText('a'.repeat(10_000));
    expect(cut.startsWith('a'.repeat(CLIENT_TEXT_MAX_CHARS))).toBe(true);
    expect(cut).toContain('(10000 chars)');
    expect(cut.length).toBeLessThan(CLIENT_TEXT_MAX_CHARS + 40);
  });
});

describe('hostile URLs leave bounded state behind', () => {
  it('events, their text, metrics series and heap stay bounded after many distinct long hostile URLs', async () => {
    const lab = makeLab();
    labs.push(lab);
    const { app } = buildHttpApp(lab.context);
    await app.ready();
    for (let i = 0; i < 16; i++) await app.inject({ method: i % 2 ? 'HEAD' : 'GET', url: hostileUrl(i) });
    const seriesAfterFew = httpSeries(lab);
    const heapBefore = heapMiB();

    // More than the ring holds, so a retained string per event would show in full.
    const requests = 2 * DEFAULT_EVENT_CAPACITY;
    const statuses = new Set<number>();
    for (let i = 16; i < requests; i++) {
      const response = await app.inject({ method: i % 2 ? 'HEAD' : 'GET', url: hostileUrl(i) });
      statuses.add(response.statusCode);
    }
    const grownMiB = heapMiB() - heapBefore;

    expect([...statuses].sort()).toEqual([200, 403, 404]);
    // Labels are route patterns, never the raw URL.
    expect(httpSeries(lab)).toBe(seriesAfterFew);
    const events = lab.events.list();
    expect(events.length).toBe(DEFAULT_EVENT_CAPACITY);
    for (const event of events) {
      expect(event.message.length).toBeLessThan(CLIENT_TEXT_MAX_CHARS + 80);
      for (const value of Object.values(event.details ?? {})) if (typeof value === 'string') expect(value.length).toBeLessThan(CLIENT_TEXT_MAX_CHARS + 40);
    }
    // Every log line stays short too (the lab keeps them all in memory here; a real appliance writes them out).
    for (const line of lab.logText().split('\n')) expect(line.length).toBeLessThan(2 * 1024);
    // Measured on Node 20: uncapped (before the fix) the ring pinned two copies of each kept URL, ~100 MiB here;
    // capped but not copied (a V8 slice keeps its 12 KiB parent alive) 19 MiB; capped and copied 8 MiB, most of
    // it this test's own log capture.
    expect(grownMiB).toBeLessThan(13);
  }, 60_000);
});

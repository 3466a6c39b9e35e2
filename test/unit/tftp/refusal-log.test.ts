/**
 * The rate-limited warn lines for refused TFTP requests: each (client,
 * reason, file) once per interval at once, at most a fixed number per
 * interval, then one summary with counts by reason; never a line per refusal.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../../src/log/logger.js';
import { REFUSAL_DETAILED_LINES_MAX, RefusalWarnings, type RefusalFields } from '../../../src/tftp/refusal-log.js';

function capturingLogger(): { log: Logger; warnings: { fields: Record<string, unknown>; message: string }[] } {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  const log = { warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }) } as unknown as Logger;
  return { log, warnings };
}

const refusal = (reason: string, client = '10.0.0.5'): RefusalFields => ({ client, port: 2000, file: 'x.bin', reason, errorCode: 1 });

describe('RefusalWarnings', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('warns about the first refusal at once, with its client and file', () => {
    const { log, warnings } = capturingLogger();
    new RefusalWarnings(log, 1000).note(refusal('not-found'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields).toMatchObject({ client: '10.0.0.5', file: 'x.bin', reason: 'not-found' });
  });

  it('one detailed line per (client, reason, file) per interval: a client retrying the same file is one line', () => {
    const { log, warnings } = capturingLogger();
    const limiter = new RefusalWarnings(log, 1000);
    for (let i = 0; i < 10; i++) limiter.note(refusal('not-found'));
    limiter.note(refusal('traversal'));
    limiter.note(refusal('not-found', '10.0.0.6'));
    expect(warnings.map((each) => `${each.fields.client} ${each.fields.reason}`)).toEqual(['10.0.0.5 not-found', '10.0.0.5 traversal', '10.0.0.6 not-found']);
    vi.advanceTimersByTime(1000);
    expect(warnings).toHaveLength(4);
    expect(warnings[3]!.fields).toMatchObject({ refused: 9, byReason: { 'not-found': 9 }, clients: 1 });
    // Still failing in the next interval: seen again, once.
    limiter.note(refusal('not-found'));
    limiter.note(refusal('not-found'));
    expect(warnings).toHaveLength(5);
  });

  it('a flood: at most REFUSAL_DETAILED_LINES_MAX detailed lines and one summary per interval, with counts by reason', () => {
    const { log, warnings } = capturingLogger();
    const limiter = new RefusalWarnings(log, 1000);
    for (let i = 0; i < 5000; i++) limiter.note({ ...refusal(i % 5 === 0 ? 'traversal' : 'not-found', `10.0.${i % 3}.1`), file: `f${i}` });
    expect(warnings).toHaveLength(REFUSAL_DETAILED_LINES_MAX);
    vi.advanceTimersByTime(1000);
    expect(warnings).toHaveLength(REFUSAL_DETAILED_LINES_MAX + 1);
    const summary = warnings.at(-1)!.fields as { refused: number; byReason: Record<string, number>; clients: number };
    expect(summary.refused).toBe(5000 - REFUSAL_DETAILED_LINES_MAX);
    expect(summary.byReason['traversal']! + summary.byReason['not-found']!).toBe(5000 - REFUSAL_DETAILED_LINES_MAX);
    expect(summary.clients).toBe(3);
    // The limit holds in the next interval too.
    for (let i = 0; i < 100; i++) limiter.note({ ...refusal('server-busy'), file: `g${i}` });
    expect(warnings).toHaveLength(2 * REFUSAL_DETAILED_LINES_MAX + 1);
    vi.advanceTimersByTime(1000);
    expect(warnings.at(-1)!.fields).toMatchObject({ refused: 100 - REFUSAL_DETAILED_LINES_MAX, byReason: { 'server-busy': 100 - REFUSAL_DETAILED_LINES_MAX } });
  });

  it('close() writes what is pending', () => {
    const { log, warnings } = capturingLogger();
    const limiter = new RefusalWarnings(log, 1000);
    limiter.note(refusal('not-found'));
    limiter.note(refusal('not-found'));
    limiter.close();
    expect(warnings).toHaveLength(2);
    expect(warnings[1]!.fields).toMatchObject({ refused: 1 });
  });
});

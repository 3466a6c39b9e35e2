/**
 * Retransmission backoff bounds (RELIABILITY.md gap 10): the wait doubles but
 * stays short enough that a client on its own 4-5 s timer hears a resend
 * before it gives up on a lossy link.
 */
import { describe, expect, it } from 'vitest';
import { BACKOFF_CEILING_MS, maxRetransmitTimeoutMs } from '../../../src/tftp/transfer.js';

describe('maxRetransmitTimeoutMs', () => {
  it.each([
    [1000, 2000], // the default timeout: 1 s, 2 s, 2 s, …
    [500, 1000],
    [1500, 3000],
    [2000, BACKOFF_CEILING_MS], // doubled would pass the ceiling
    [3000, 3000],
    [5000, 5000], // a negotiated RFC 2349 timeout above the ceiling is kept as it is, not doubled
    [255_000, 255_000],
  ])('first timeout %i ms → longest wait %i ms', (base, longest) => {
    expect(maxRetransmitTimeoutMs(base)).toBe(longest);
  });

  it('is never shorter than the first timeout, never above twice it', () => {
    for (let base = 100; base <= 10_000; base += 100) {
      expect(maxRetransmitTimeoutMs(base)).toBeGreaterThanOrEqual(base);
      expect(maxRetransmitTimeoutMs(base)).toBeLessThanOrEqual(base * 2);
    }
  });
});

/**
 * Retransmission schedule (RELIABILITY.md gap 10): one quick resend, then
 * waits long enough for the client's own timer to fire (atftp resends its
 * ACK only when its 4-5 s wait passes with no packet at all).
 */
import { describe, expect, it } from 'vitest';
import { CLIENT_TIMER_ROOM_MS, retransmitWaitMs } from '../../../src/tftp/transfer.js';

describe('retransmitWaitMs', () => {
  it.each([
    [1000, 0, 1000], // first send → first resend after the timeout
    [1000, 1, CLIENT_TIMER_ROOM_MS], // then room for a 4-5 s client timer
    [1000, 7, CLIENT_TIMER_ROOM_MS], // and no further backoff: bounded total time, retries × this
    [2000, 1, CLIENT_TIMER_ROOM_MS],
    [5000, 0, 5000], // a negotiated RFC 2349 timeout is the first wait
    [5000, 1, 10_000], // and the client's timer is that long too: twice it
  ])('first timeout %i ms, after resend %i → wait %i ms', (base, resends, wait) => {
    expect(retransmitWaitMs(base, resends)).toBe(wait);
  });

  it('every later wait exceeds 5 s (atftp default timeout) and the first timeout', () => {
    for (let base = 1000; base <= 10_000; base += 1000) {
      for (let resends = 1; resends < 20; resends++) {
        expect(retransmitWaitMs(base, resends)).toBeGreaterThan(Math.max(5000, base));
      }
    }
  });
});

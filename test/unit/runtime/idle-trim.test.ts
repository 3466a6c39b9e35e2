import { describe, expect, it } from 'vitest';
import { IdleTrimPolicy, QUIET_SECONDS_BEFORE_TRIM, fullCollection } from '../../../src/runtime/idle-trim.js';

/** Feeds one sample per second; returns the seconds (1-based) at which a trim was decided. */
function trimsFor(samples: number[]): number[] {
  const policy = new IdleTrimPolicy();
  return samples.flatMap((utilisation, i) => (policy.sample(utilisation) === 'trim' ? [i + 1] : []));
}

const quiet = (n: number) => Array<number>(n).fill(0.01);

describe('idle trim: when a full collection runs', () => {
  it.each([
    { name: 'never busy: never trims', samples: quiet(30), trims: [] },
    { name: 'busy, then quiet: trims once after the quiet seconds', samples: [0.9, ...quiet(10)], trims: [1 + QUIET_SECONDS_BEFORE_TRIM] },
    { name: 'one quiet second short: waits', samples: [0.5, ...quiet(QUIET_SECONDS_BEFORE_TRIM - 1)], trims: [] },
    { name: 'a busy second resets the quiet run', samples: [0.9, ...quiet(3), 0.5, ...quiet(QUIET_SECONDS_BEFORE_TRIM)], trims: [5 + QUIET_SECONDS_BEFORE_TRIM] },
    { name: 'a middling second (neither busy nor quiet) resets the quiet run', samples: [0.9, ...quiet(3), 0.1, ...quiet(QUIET_SECONDS_BEFORE_TRIM)], trims: [5 + QUIET_SECONDS_BEFORE_TRIM] },
    { name: 'a middling second does not arm a trim', samples: [...quiet(3), 0.1, ...quiet(10)], trims: [] },
    { name: 'two bursts: two trims', samples: [0.9, ...quiet(6), 0.9, ...quiet(6)], trims: [6, 13] },
  ])('$name', ({ samples, trims }) => {
    expect(trimsFor(samples)).toEqual(trims);
  });
});

describe('idle trim: the collection itself', () => {
  it('obtains V8\'s full collection without a command-line flag, and it frees unreachable memory', () => {
    const collect = fullCollection();
    expect(typeof collect).toBe('function');
    let garbage: object[] | null = Array.from({ length: 200_000 }, (_, i) => ({ i, text: `x${i}` }));
    const withGarbage = process.memoryUsage().heapUsed;
    garbage = null;
    collect();
    expect(process.memoryUsage().heapUsed).toBeLessThan(withGarbage);
  });
});

/**
 * Gives memory back once a burst is over. V8 keeps the heap it grew to in a
 * boot storm or a scan until its own memory reducer decides the process is
 * idle, which on a box that keeps seeing a trickle of traffic can take
 * minutes or not happen at all: measured after a 100,000-packet fuzz run, the
 * same build ended anywhere from 22% below to 18% above its warmed-up RSS
 * depending on that timing (RELIABILITY.md gap 9). An appliance that sits at
 * its storm peak looks like a leak to its admin, so after a busy spell
 * followed by a few quiet seconds we run one full collection ourselves, at a
 * moment when the pause (tens of ms) costs nobody anything.
 *
 * Busy and quiet are read from the main thread's event-loop utilisation,
 * sampled once a second: cheap, and what a burst of DHCP, TFTP or HTTP work
 * moves.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A second with at least this share of the loop busy counts as work worth trimming after. */
const BUSY_UTILISATION = 0.2;
/** A second under this share counts as quiet. */
const QUIET_UTILISATION = 0.05;
/** Quiet seconds in a row after a busy one before the collection runs. */
export const QUIET_SECONDS_BEFORE_TRIM = 5;

export type TrimDecision = 'wait' | 'trim';

/**
 * The decision alone, fed one utilisation sample per second (pure, so the
 * thresholds are table-tested without timers).
 */
export class IdleTrimPolicy {
  private sawBusy = false;
  private quietRun = 0;

  sample(utilisation: number): TrimDecision {
    if (utilisation >= BUSY_UTILISATION) {
      this.sawBusy = true;
      this.quietRun = 0;
      return 'wait';
    }
    this.quietRun = utilisation < QUIET_UTILISATION ? this.quietRun + 1 : 0;
    if (this.sawBusy && this.quietRun >= QUIET_SECONDS_BEFORE_TRIM) {
      this.sawBusy = false;
      this.quietRun = 0;
      return 'trim';
    }
    return 'wait';
  }
}

/**
 * V8's full collection. `--expose-gc` set at run time is honoured by contexts
 * created afterwards, so one fresh context hands us the function without
 * requiring a flag on every command line that starts netboot.
 */
export function fullCollection(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export interface IdleTrimmer {
  stop(): void;
}

/** Starts the once-a-second sampler; `onTrim` hears RSS before and a second after each collection. */
export function startIdleTrim(onTrim: (rssBeforeBytes: number, rssAfterBytes: number) => void): IdleTrimmer {
  const collect = fullCollection();
  const policy = new IdleTrimPolicy();
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const decision = policy.sample(performance.eventLoopUtilization(now, last).utilization);
    last = now;
    if (decision !== 'trim') return;
    const before = process.memoryUsage.rss();
    collect();
    // V8 unmaps the freed pages from background tasks after the collection: read RSS once they have run.
    setTimeout(() => onTrim(before, process.memoryUsage.rss()), 1000).unref();
  }, 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * A hand-built ServiceContext for running a service in-process in tests:
 * real EventLog, Metrics and TransferRegistry, an in-memory boot-once store,
 * and a lease view that is empty unless the test registers one.
 */
import { loadConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { silentLogger, type Logger } from '../../src/log/logger.js';
import type { BootState } from '../../src/policy/boot-policy.js';
import { EventLog } from '../../src/runtime/events.js';
import { EMPTY_LEASE_VIEW, type LeaseView } from '../../src/runtime/lease-view.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { TransferRegistry } from '../../src/runtime/transfers.js';
import type { BootOnceRecord, BootOnceStore } from '../../src/state/boot-once-store.js';
import type { ServiceContext } from '../../src/supervisor/service.js';

/** Boot-once state kept in memory only. */
export class MemoryBootOnceStore implements BootOnceStore {
  private readonly done = new Map<string, number>();
  isDone(hostName: string): boolean {
    return this.done.has(hostName);
  }
  async markDone(hostName: string): Promise<void> {
    this.done.set(hostName, Date.now());
  }
  async rearm(hostName: string): Promise<void> {
    this.done.delete(hostName);
  }
  list(): BootOnceRecord[] {
    return [...this.done].map(([host, doneAt]) => ({ host, state: 'done', doneAt }));
  }
}

export interface TestContext extends ServiceContext {
  /** Swap the config (what the supervisor does before calling reload). */
  setConfig(config: Config): void;
  /** Errors passed to fail(), in order. */
  failures: Error[];
}

export function makeTestContext(config: Config, options: { log?: Logger } = {}): TestContext {
  let current = config;
  let leaseView: LeaseView = EMPTY_LEASE_VIEW;
  const bootOnce = new MemoryBootOnceStore();
  const bootState: BootState = { isOnceDone: (hostName) => bootOnce.isDone(hostName) };
  const failures: Error[] = [];
  return {
    config: () => current,
    setConfig: (next) => {
      current = next;
    },
    log: options.log ?? silentLogger(),
    events: new EventLog(),
    metrics: new Metrics(),
    transfers: new TransferRegistry(),
    bootOnce,
    bootState,
    leases: () => leaseView,
    registerLeaseView: (view) => {
      leaseView = view;
    },
    fail: (error) => {
      failures.push(error);
    },
    failures,
  };
}

/** Loads YAML config text as if from `file` (relative paths resolve against its folder); throws with the issues when invalid. */
export function testConfig(yamlText: string, file = '/tmp/netboot-test/lab.yaml'): Config {
  const result = loadConfigText(yamlText, file, { allowMissing: true });
  if (!result.ok) throw new Error(`test config invalid:\n${result.issues.map((issue) => `${issue.line}:${issue.col} ${issue.path}: ${issue.message}`).join('\n')}`);
  return result.config;
}

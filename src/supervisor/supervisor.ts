/**
 * Runs the enabled services (TFTP, HTTP, DHCP) from one validated config:
 * starts them in order, reports each as ready, restarts one that fails with
 * exponential backoff while the others keep serving, hands a reloaded config
 * to each, and stops them with a short drain.
 *
 * It knows nothing of signals, files or exit codes (run.ts does); tests drive
 * it with fake service factories.
 */
import { NetbootError } from '../errors.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { BootState } from '../policy/boot-policy.js';
import { EventLog } from '../runtime/events.js';
import { EMPTY_LEASE_VIEW, type LeaseView } from '../runtime/lease-view.js';
import { Metrics } from '../runtime/metrics.js';
import { TransferRegistry } from '../runtime/transfers.js';
import { FileBootOnceStore, type BootOnceStore } from '../state/boot-once-store.js';
import { NO_SD_NOTIFY, type SdNotifier } from './sd-notify.js';
import type { Service, ServiceContext, ServiceFactory, ServiceName, ServiceRuntimeStatus } from './service.js';

/** Restart delays after a failure: doubling from initialMs up to maxMs; back to initialMs once a service has stayed up resetAfterMs. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export const DEFAULT_RESTART_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };

/** How long in-flight transfers get on stop; with the rest of shutdown it fits systemd's and the tests' 2 s. */
export const DEFAULT_DRAIN_MS = 1500;

/** A service that has not bound within this long is treated as failed to start (a hung DNS lookup, a stuck disk). */
export const START_TIMEOUT_MS = 30_000;

/** A service's reload() that has not settled by then is treated as a failure (the service is restarted). */
export const RELOAD_TIMEOUT_MS = 30_000;

/** A failed instance gets this long to release its sockets before its replacement starts anyway. */
export const FAILED_STOP_TIMEOUT_MS = 2_000;

/** Resolves or rejects with `promise`, or rejects with `onTimeout()` after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Boot files must be fetchable before DHCP points anyone at them: a machine
 * that gets an OFFER while TFTP is still binding fails its boot.
 */
export const START_ORDER: readonly ServiceName[] = ['tftp', 'http', 'dhcp'];

export type ServiceFactories = Record<ServiceName, ServiceFactory>;

export interface SupervisorOptions {
  config: Config;
  log: Logger;
  factories: ServiceFactories;
  backoff?: Partial<BackoffPolicy>;
  notifier?: SdNotifier;
  /** Shared runtime objects; created here when not given (tests pass their own to look inside). */
  events?: EventLog;
  metrics?: Metrics;
  transfers?: TransferRegistry;
  bootOnce?: BootOnceStore;
}

/** Whether the config turns a service on. */
export function isServiceEnabled(config: Config, name: ServiceName): boolean {
  switch (name) {
    case 'dhcp':
      return config.dhcp.mode !== 'off';
    case 'tftp':
      return config.tftp.enabled;
    case 'http':
      return config.http.enabled;
  }
}

/**
 * What a service binds. When this changes on reload the service is restarted
 * (new sockets) rather than asked to reload, so no service has to rebind in
 * place.
 */
export function bindKey(config: Config, name: ServiceName): string {
  switch (name) {
    case 'dhcp':
      return JSON.stringify([config.dhcp.mode, config.dhcp.listenAddress, config.dhcp.port, config.dhcp.proxyPort, config.server.address, config.server.interface]);
    case 'tftp':
      return JSON.stringify([config.tftp.listenAddress, config.tftp.port, config.tftp.portRange]);
    case 'http':
      return JSON.stringify([config.http.listenAddress, config.http.port]);
  }
}

interface Slot {
  name: ServiceName;
  instance: Service | null;
  /** Bumped whenever an instance is replaced, so a late fail() from an old instance is ignored. */
  generation: number;
  state: ServiceRuntimeStatus['state'];
  since: number;
  restarts: number;
  listen: string | null;
  lastError: string | null;
  readyAt: number | null;
  nextDelayMs: number;
  timer: NodeJS.Timeout | null;
  bindKey: string;
  /** The current instance's logger (its level follows reloads). */
  log: Logger | null;
}

function describeError(error: unknown): string {
  if (error instanceof NetbootError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

export class Supervisor {
  private current: Config;
  private readonly log: Logger;
  private readonly factories: ServiceFactories;
  private readonly backoff: BackoffPolicy;
  private readonly notifier: SdNotifier;
  readonly events: EventLog;
  readonly metrics: Metrics;
  readonly transfers: TransferRegistry;
  readonly bootOnce: BootOnceStore;
  readonly bootState: BootState;
  private leaseView: LeaseView = EMPTY_LEASE_VIEW;
  private readonly slots = new Map<ServiceName, Slot>();
  private stopping = false;
  private reloading: Promise<void> = Promise.resolve();

  constructor(options: SupervisorOptions) {
    this.current = options.config;
    this.log = options.log;
    this.factories = options.factories;
    this.backoff = { ...DEFAULT_RESTART_BACKOFF, ...options.backoff };
    this.notifier = options.notifier ?? NO_SD_NOTIFY;
    this.events = options.events ?? new EventLog();
    this.metrics = options.metrics ?? new Metrics();
    this.transfers = options.transfers ?? new TransferRegistry();
    this.bootOnce = options.bootOnce ?? new FileBootOnceStore(options.config.stateDir, options.log.child({ service: 'state' }));
    const bootOnce = this.bootOnce;
    this.bootState = { isOnceDone: (hostName) => bootOnce.isDone(hostName) };
  }

  config(): Config {
    return this.current;
  }

  /**
   * Starts every enabled service in START_ORDER. When one cannot start, the
   * ones already started are stopped and the error (a NetbootError, code
   * NETBOOT_ERR_BIND_* for a port problem) is thrown: the caller exits.
   */
  async start(): Promise<void> {
    for (const name of START_ORDER) {
      if (!isServiceEnabled(this.current, name)) {
        this.log.info({ service: name }, `${name} is disabled by the config`);
        continue;
      }
      const slot = this.newSlot(name);
      this.slots.set(name, slot);
      try {
        await this.launch(slot);
      } catch (error) {
        // It may have bound some of its sockets before failing on another.
        await slot.instance?.stop(0).catch(() => undefined);
        slot.state = 'stopped';
        this.slots.delete(name);
        await this.stopAll(0);
        throw error instanceof NetbootError ? error : new NetbootError('NETBOOT_ERR_SERVICE_START', `${name}: ${describeError(error)}`, { cause: error });
      }
    }
    if (this.slots.size === 0) this.log.warn('every service is disabled by the config; nothing to serve');
    this.notifier.ready(this.readyStatus());
  }

  /**
   * Takes a new, already validated config: starts services it enables, stops
   * those it disables, restarts those whose sockets change, and hands it to
   * the rest. A service whose reload fails is restarted with backoff; the
   * others keep the new config. Reloads run one at a time.
   */
  reload(config: Config): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.stopping) return;
      this.notifier.reloading();
      if (config.stateDir !== this.current.stateDir) {
        this.log.warn({ from: this.current.stateDir, to: config.stateDir }, 'the state folder changed; boot-once state keeps using the old one until restart');
      }
      this.current = config;
      if (this.log.level !== config.logLevel) {
        // pino children copy the level when made: set it on each service's logger too.
        this.log.level = config.logLevel;
        for (const slot of this.slots.values()) if (slot.log !== null) slot.log.level = config.logLevel;
      }
      for (const name of START_ORDER) {
        const enabled = isServiceEnabled(config, name);
        const slot = this.slots.get(name);
        if (!enabled && slot !== undefined) {
          this.log.info({ service: name }, `${name} disabled by the new config; stopping it`);
          this.slots.delete(name);
          await this.retire(slot, 0);
          if (name === 'dhcp') this.leaseView = EMPTY_LEASE_VIEW;
        } else if (enabled && slot === undefined) {
          const fresh = this.newSlot(name);
          this.slots.set(name, fresh);
          this.launch(fresh).catch((error: unknown) => this.failed(fresh, fresh.generation, error));
        } else if (enabled && slot !== undefined) {
          if (slot.instance === null || slot.state !== 'ready') continue; // restarting: it reads the new config when it starts
          const key = bindKey(config, name);
          if (key !== slot.bindKey) {
            this.log.info({ service: name }, `${name} listen settings changed; restarting it on the new ones`);
            const old = slot.instance;
            slot.generation++;
            slot.instance = null;
            await withTimeout(old.stop(0), FAILED_STOP_TIMEOUT_MS, () => new Error(`did not stop within ${FAILED_STOP_TIMEOUT_MS} ms`)).catch((error: unknown) => this.log.warn({ service: name, err: error }, 'stop before rebind failed'));
            this.launch(slot).catch((error: unknown) => this.failed(slot, slot.generation, error));
          } else {
            const generation = slot.generation;
            // A reload that never settles would hold every later SIGHUP in the queue: treat it as a failure.
            await withTimeout(slot.instance.reload(config), RELOAD_TIMEOUT_MS, () => new NetbootError('NETBOOT_ERR_SERVICE_CRASHED', `${name} did not finish reloading within ${RELOAD_TIMEOUT_MS / 1000} s`))
              .catch((error: unknown) => this.failed(slot, generation, error));
          }
        }
      }
      this.notifier.ready(this.readyStatus());
    };
    const result = this.reloading.then(run, run);
    this.reloading = result.catch(() => undefined);
    return result;
  }

  /** Stops every service, each given drainMs to finish work in flight. Safe to call twice. */
  async stop(drainMs = DEFAULT_DRAIN_MS): Promise<void> {
    if (!this.stopping) this.notifier.stopping();
    this.stopping = true;
    await this.stopAll(drainMs);
    await this.notifier.flush();
  }

  /** Lifecycle and numbers of every enabled service. */
  status(): Partial<Record<ServiceName, ServiceRuntimeStatus>> {
    const result: Partial<Record<ServiceName, ServiceRuntimeStatus>> = {};
    for (const [name, slot] of this.slots) {
      let numbers: Record<string, unknown> = {};
      if (slot.instance !== null && slot.state === 'ready') {
        try {
          numbers = slot.instance.status();
        } catch (error) {
          numbers = { error: describeError(error) };
        }
      }
      result[name] = { state: slot.state, restarts: slot.restarts, since: slot.since, listen: slot.listen, lastError: slot.lastError, status: numbers };
    }
    return result;
  }

  private newSlot(name: ServiceName): Slot {
    return {
      name,
      instance: null,
      generation: 0,
      state: 'starting',
      since: Date.now(),
      restarts: 0,
      listen: null,
      lastError: null,
      readyAt: null,
      nextDelayMs: this.backoff.initialMs,
      timer: null,
      bindKey: bindKey(this.current, name),
      log: null,
    };
  }

  private setState(slot: Slot, state: Slot['state']): void {
    slot.state = state;
    slot.since = Date.now();
    this.metrics.set('netboot_service_up', 'Whether a service is running (1) or not (0)', state === 'ready' ? 1 : 0, { service: slot.name });
  }

  private contextFor(slot: Slot, generation: number): ServiceContext {
    slot.log = this.log.child({ service: slot.name });
    return {
      config: () => this.current,
      log: slot.log,
      events: this.events,
      metrics: this.metrics,
      transfers: this.transfers,
      bootOnce: this.bootOnce,
      bootState: this.bootState,
      leases: () => this.leaseView,
      registerLeaseView: (view) => {
        this.leaseView = view;
      },
      fail: (error) => this.failed(slot, generation, error),
      services: () => this.status(),
    };
  }

  /** Creates and starts a new instance in the slot; rejects when it cannot start. */
  private async launch(slot: Slot): Promise<void> {
    const generation = ++slot.generation;
    this.setState(slot, 'starting');
    slot.bindKey = bindKey(this.current, slot.name);
    const instance = this.factories[slot.name](this.contextFor(slot, generation));
    slot.instance = instance;
    await withTimeout(instance.start(), START_TIMEOUT_MS, () => new NetbootError('NETBOOT_ERR_SERVICE_START', `${slot.name} did not become ready within ${START_TIMEOUT_MS / 1000} s`));
    if (slot.generation !== generation || this.stopping) {
      // Replaced or shut down while it was starting.
      await instance.stop(0).catch(() => undefined);
      return;
    }
    slot.listen = instance.describe();
    slot.readyAt = Date.now();
    this.setState(slot, 'ready');
    this.log.info({ service: slot.name, listen: slot.listen, restarts: slot.restarts }, `${slot.name} ready on ${slot.listen}`);
  }

  /**
   * A service failed: it called context.fail(), a reload rejected, or a
   * restart could not start. Stop what is left of it and start a new instance
   * after the backoff delay. Other services are not touched.
   */
  private failed(slot: Slot, generation: number, error: unknown): void {
    if (this.stopping || slot.generation !== generation || this.slots.get(slot.name) !== slot) return;
    const stayedUpMs = slot.readyAt === null ? 0 : Date.now() - slot.readyAt;
    if (stayedUpMs >= this.backoff.resetAfterMs) slot.nextDelayMs = this.backoff.initialMs;
    const delayMs = slot.nextDelayMs;
    slot.nextDelayMs = Math.min(delayMs * 2, this.backoff.maxMs);
    slot.lastError = describeError(error);
    slot.readyAt = null;
    slot.generation++;
    const old = slot.instance;
    slot.instance = null;
    this.setState(slot, 'restarting');
    this.metrics.inc('netboot_service_restarts_total', 'Service restarts after a failure', { service: slot.name });
    this.log.error({ service: slot.name, code: 'NETBOOT_ERR_SERVICE_CRASHED', err: error, restartInMs: delayMs }, `${slot.name} failed (${slot.lastError}); restarting in ${delayMs} ms`);
    this.notifier.status(`${slot.name} failed, restarting; ${this.readyStatus()}`);
    const stopped = old === null
      ? Promise.resolve()
      : withTimeout(old.stop(0), FAILED_STOP_TIMEOUT_MS, () => new Error(`did not stop within ${FAILED_STOP_TIMEOUT_MS} ms`)).catch((stopError: unknown) => this.log.warn({ service: slot.name, err: stopError }, 'stopping the failed instance failed too'));
    slot.timer = setTimeout(() => {
      slot.timer = null;
      void stopped.then(async () => {
        if (this.stopping || this.slots.get(slot.name) !== slot) return;
        slot.restarts++;
        try {
          await this.launch(slot);
          this.notifier.status(this.readyStatus());
        } catch (restartError) {
          this.failed(slot, slot.generation, restartError);
        }
      });
    }, delayMs);
  }

  private async retire(slot: Slot, drainMs: number): Promise<void> {
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.timer = null;
    slot.generation++;
    const instance = slot.instance;
    slot.instance = null;
    this.setState(slot, 'stopping');
    if (instance !== null) {
      try {
        await instance.stop(drainMs);
      } catch (error) {
        this.log.warn({ service: slot.name, err: error }, `${slot.name} did not stop cleanly`);
      }
    }
    this.setState(slot, 'stopped');
    this.log.info({ service: slot.name }, `${slot.name} stopped`);
  }

  private async stopAll(drainMs: number): Promise<void> {
    // In parallel: every service drains at the same time, so shutdown takes one drain, not three.
    const slots = [...this.slots.values()].reverse();
    await Promise.all(slots.map((slot) => this.retire(slot, drainMs)));
  }

  private readyStatus(): string {
    const parts = [...this.slots.values()].map((slot) => (slot.state === 'ready' ? `${slot.name} ${slot.listen}` : `${slot.name} ${slot.state}`));
    return parts.length === 0 ? 'nothing enabled' : `serving: ${parts.join(', ')}`;
  }
}

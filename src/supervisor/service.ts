/**
 * The contract between the supervisor and each service (DHCP, TFTP, HTTP).
 * A service is created by a factory that binds nothing; `start` binds.
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { BootState } from '../policy/boot-policy.js';
import type { EventLog } from '../runtime/events.js';
import type { LeaseView } from '../runtime/lease-view.js';
import type { Metrics } from '../runtime/metrics.js';
import type { TransferRegistry } from '../runtime/transfers.js';
import type { BootOnceStore } from '../state/boot-once-store.js';

export type ServiceName = 'dhcp' | 'tftp' | 'http';

export interface Service {
  readonly name: ServiceName;
  /** Binds its sockets and serves. Rejects with a NetbootError (code NETBOOT_ERR_BIND_*) when a port is taken or not permitted. */
  start(): Promise<void>;
  /** Stops taking new work, lets in-flight work finish for up to `drainMs`, flushes state, closes sockets. */
  stop(drainMs: number): Promise<void>;
  /** Takes a new, already validated config without dropping work in flight. */
  reload(config: Config): Promise<void>;
  /** Where it listens, for the ready log line: `udp 0.0.0.0:67`. */
  describe(): string;
  /** Numbers for /api/status. */
  status(): Record<string, unknown>;
}

/** What every service is given. Shared objects live as long as the process, across reloads and restarts. */
export interface ServiceContext {
  /** The current config (changes on reload). */
  config(): Config;
  log: Logger;
  events: EventLog;
  metrics: Metrics;
  transfers: TransferRegistry;
  bootOnce: BootOnceStore;
  /** The boot policy's view of runtime state (boot-once). DHCP wraps it to add its recently-handed-iPXE memory. */
  bootState: BootState;
  /** Lease lookups (an empty view until the DHCP service registers its table). */
  leases(): LeaseView;
  /** The DHCP service registers its lease table here when it starts. */
  registerLeaseView(view: LeaseView): void;
  /** A service reports an unrecoverable runtime failure; the supervisor restarts it with backoff. */
  fail(error: Error): void;
  /**
   * Every supervised service's lifecycle and numbers, for /api/status. Optional
   * so test contexts built by hand need not provide it; the supervisor always does.
   */
  services?(): Partial<Record<ServiceName, ServiceRuntimeStatus>>;
}

/** What the supervisor knows of one service, for /api/status and `systemctl status`. */
export interface ServiceRuntimeStatus {
  /** starting → ready; on failure restarting (waiting out the backoff) → starting → ready; stopping → stopped. */
  state: 'starting' | 'ready' | 'restarting' | 'stopping' | 'stopped';
  /** Restarts after failures since the process started. */
  restarts: number;
  /** Milliseconds since the epoch when `state` last changed. */
  since: number;
  /** Where it listens (Service.describe()), null until it first started. */
  listen: string | null;
  /** The last failure, as `CODE: message`, or null. */
  lastError: string | null;
  /** The service's own numbers (Service.status()); {} while it is not running. */
  status: Record<string, unknown>;
}

export type ServiceFactory = (context: ServiceContext) => Service;

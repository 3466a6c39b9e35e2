/**
 * The HTTP service the supervisor runs: the app from app.ts, bound on
 * http.listen:port. Routes read the config per request, so reload only has to
 * swap socket limits; a changed listen address or port needs a restart
 * (the socket stays where it is, and we say so in the log).
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/types.js';
import { bindError } from '../errors.js';
import type { Service, ServiceContext, ServiceFactory } from '../supervisor/service.js';
import { applyTimeouts, buildHttpApp, timeoutsFor } from './app.js';
import type { HttpTransferTracker } from './transfer-tracker.js';

export const createHttpService: ServiceFactory = (context: ServiceContext): Service => new HttpService(context);

class HttpService implements Service {
  readonly name = 'http' as const;
  private app: FastifyInstance | null = null;
  private tracker: HttpTransferTracker | null = null;
  /** Where the socket is actually bound (after start), which may differ from the config until a restart. */
  private bound: { address: string; port: number } | null = null;
  private startedAt: number | null = null;

  constructor(private readonly context: ServiceContext) {}

  async start(): Promise<void> {
    const config = this.context.config();
    const { app, tracker } = buildHttpApp(this.context, { describe: () => this.describe() });
    const what = `HTTP tcp ${config.http.listenAddress}:${config.http.port}`;
    try {
      await app.listen({ host: config.http.listenAddress, port: config.http.port });
    } catch (error) {
      await app.close().catch(() => undefined);
      throw bindError(error as NodeJS.ErrnoException, what, config.http.port);
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.http.port;
    this.app = app;
    this.tracker = tracker;
    this.bound = { address: config.http.listenAddress, port };
    this.startedAt = Date.now();
  }

  async stop(drainMs: number): Promise<void> {
    const app = this.app;
    if (app === null) return;
    this.app = null;
    // close() stops accepting, drops idle keep-alive sockets at once and waits
    // for requests in flight; a 4 GiB ISO download would hold it for minutes,
    // so after the drain time the remaining connections are cut.
    const closing = app.close();
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      closing.then(() => true),
      new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), Math.max(0, drainMs)); }),
    ]);
    clearTimeout(timer);
    if (!drained) {
      this.context.log.warn({ drainMs, transfers: this.tracker?.activeCount ?? 0 }, 'HTTP: cutting connections still busy after the drain time');
      app.server.closeAllConnections();
      await closing;
    }
    this.tracker = null;
    this.bound = null;
  }

  async reload(config: Config): Promise<void> {
    if (this.app === null) return;
    applyTimeouts(this.app, timeoutsFor(config));
    if (this.bound && (config.http.listenAddress !== this.bound.address || (config.http.port !== this.bound.port && config.http.port !== 0))) {
      this.context.log.warn(
        { listening: this.describe(), wanted: `${config.http.listenAddress}:${config.http.port}` },
        'HTTP listen address or port changed: takes effect when netboot restarts',
      );
    }
  }

  describe(): string {
    if (this.bound === null) {
      const config = this.context.config();
      return `tcp ${config.http.listenAddress}:${config.http.port}`;
    }
    return `tcp ${this.bound.address}:${this.bound.port}`;
  }

  status(): Record<string, unknown> {
    return {
      listening: this.bound !== null,
      port: this.bound?.port ?? null,
      activeDownloads: this.tracker?.activeCount ?? 0,
      startedAt: this.startedAt,
    };
  }
}

/**
 * The TFTP service as the supervisor sees it (issue 3): start binds the
 * request port, stop drains transfers, reload applies a new root and new
 * limits to new transfers only.
 */
import type { Config } from '../config/types.js';
import type { Service, ServiceFactory } from '../supervisor/service.js';
import { TftpServer } from './server.js';

export const createTftpService: ServiceFactory = (context) => {
  let config: Config = context.config();
  const server = new TftpServer({
    config: () => config,
    log: context.log,
    events: context.events,
    metrics: context.metrics,
    transfers: context.transfers,
    leases: () => context.leases(),
    bootState: context.bootState,
  });
  let running = false;

  const service: Service & { readonly port: number } = {
    name: 'tftp',
    async start() {
      config = context.config();
      await server.listen();
      running = true;
    },
    async stop(drainMs) {
      running = false;
      await server.close(drainMs);
    },
    async reload(next) {
      const previous = config;
      config = next;
      if (running) await server.reload(previous);
    },
    describe: () => server.describe(),
    status: () => server.status(),
    /** The bound request port (differs from the config when it says 0, as tests do). */
    get port() {
      return server.port;
    },
  };
  return service;
};

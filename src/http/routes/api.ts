/**
 * The JSON API an admin (or the status page) watches: status, hosts, leases,
 * transfers, events; and the two boot-once calls. Reads are open (the boot
 * network is the admin's own); the calls that change state need the bearer
 * token from http.apiToken, with one exception: a boot-once host may report
 * its own install done from its own address without a token, because that is
 * what the `curl -X POST {{doneUrl}}` at the end of an install can do without
 * putting the admin token in an answer file every machine can read.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config, HostConfig } from '../../config/types.js';
import { NetbootError } from '../../errors.js';
import { formatIpv4, parseIpv4 } from '../../net/ipv4.js';
import { parseMac } from '../../net/mac.js';
import { DEFAULT_EVENT_CAPACITY } from '../../runtime/events.js';
import type { LeaseInfo } from '../../runtime/lease-view.js';
import type { ServiceContext } from '../../supervisor/service.js';
import { checkBearer } from '../auth.js';
import { requestClientAddress, hostAddresses } from '../client.js';
import type { HttpTransferTracker } from '../transfer-tracker.js';

export const DEFAULT_EVENTS_LIMIT = 200;

export interface ApiOptions {
  /** HTTP's own describe(), shown when the supervisor provides no service list. */
  describe(): string;
  startedAt: number;
}

function bootOnceState(context: ServiceContext, host: HostConfig): { bootOnce: 'armed' | 'done' | null; doneAt: number | null } {
  if (!host.once) return { bootOnce: null, doneAt: null };
  const doneAt = context.bootOnce.list().find((entry) => entry.host === host.name)?.doneAt ?? null;
  return doneAt === null ? { bootOnce: 'armed', doneAt: null } : { bootOnce: 'done', doneAt };
}

/**
 * Every host with its lease, last event and boot-once state. Leases, events
 * and boot-once records are indexed once per request: the status page asks
 * every two seconds, and a lab can have a thousand hosts and a full event ring.
 */
function listHosts(context: ServiceContext, config: Config) {
  const leaseByMac = new Map<string, LeaseInfo>();
  for (const lease of context.leases().list()) leaseByMac.set(lease.mac, lease);
  const lastEventByMac = context.events.latestByMac();
  const doneAtByHost = new Map(context.bootOnce.list().map((record) => [record.host, record.doneAt]));
  return config.hosts.map((host) => {
    const lease = leaseByMac.get(host.mac) ?? null;
    const last = lastEventByMac.get(host.mac) ?? null;
    const doneAt = doneAtByHost.get(host.name) ?? null;
    return {
      name: host.name,
      mac: host.mac,
      profile: host.profile ?? config.defaultProfile,
      reservedIp: host.ip === null ? null : formatIpv4(host.ip),
      lease,
      lastSeenAt: Math.max(last?.time ?? 0, lease?.lastSeenAt ?? 0) || null,
      lastEvent: last,
      once: host.once,
      bootOnce: host.once ? (doneAt === null ? 'armed' : 'done') : null,
      doneAt: host.once ? doneAt : null,
    };
  });
}

export function registerApiRoutes(app: FastifyInstance, context: ServiceContext, tracker: HttpTransferTracker, options: ApiOptions): void {
  app.get('/api/status', () => {
    const config = context.config();
    const services = context.services?.() ?? { http: { state: 'ready', restarts: 0, since: options.startedAt, listen: options.describe(), lastError: null, status: {} } };
    return {
      name: 'netboot',
      startedAt: options.startedAt,
      uptimeS: Math.round(process.uptime()),
      node: process.version,
      config: { file: config.source.file, sha256: config.source.sha256 },
      services,
      hosts: config.hosts.length,
      activeTransfers: context.transfers.size,
      apiMutations: config.http.apiToken === null ? 'disabled (set http.apiToken)' : 'enabled with bearer token',
    };
  });

  app.get('/api/hosts', () => {
    const config = context.config();
    return { hosts: listHosts(context, config) };
  });

  app.get('/api/leases', () => ({ leases: context.leases().list() }));

  app.get('/api/transfers', () => {
    tracker.sample();
    return { transfers: context.transfers.list() };
  });

  app.get<{ Querystring: { mac?: string; host?: string; limit?: string } }>('/api/events', (request, reply) => {
    const config = context.config();
    let mac: string | undefined;
    if (request.query.mac !== undefined && request.query.mac !== '') {
      const parsed = parseMac(request.query.mac);
      if (parsed === null) return reply.code(400).send({ error: `"${request.query.mac}" is not a MAC address` });
      mac = parsed;
    } else if (request.query.host !== undefined && request.query.host !== '') {
      const host = config.hostsByName.get(request.query.host);
      if (!host) return reply.code(404).send({ error: `no host named "${request.query.host}" in the config` });
      mac = host.mac;
    }
    let limit = DEFAULT_EVENTS_LIMIT;
    if (request.query.limit !== undefined) {
      limit = Number(request.query.limit);
      if (!Number.isInteger(limit) || limit < 1) return reply.code(400).send({ error: 'limit must be a positive whole number' });
      limit = Math.min(limit, DEFAULT_EVENT_CAPACITY);
    }
    return { events: context.events.list({ mac, limit }) };
  });

  const findBootOnceHost = (request: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply): HostConfig | null => {
    const host = context.config().hostsByName.get(request.params.name);
    if (!host) {
      void reply.code(404).send({ error: `no host named "${request.params.name}" in the config`, code: 'NETBOOT_ERR_NOT_FOUND' });
      return null;
    }
    if (!host.once) {
      void reply.code(409).send({ error: `host ${host.name} is not a boot-once host (set once: true on it to use done/reinstall)` });
      return null;
    }
    return host;
  };

  const authorise = (request: FastifyRequest, reply: FastifyReply, selfReport: HostConfig | null): boolean => {
    const config = context.config();
    if (selfReport !== null && request.headers.authorization === undefined) {
      const from = parseIpv4(requestClientAddress(request));
      if (from !== null && hostAddresses(context, selfReport).includes(from)) return true;
    }
    const outcome = checkBearer(request.headers.authorization, config.http.apiToken);
    if (outcome.ok) return true;
    if (outcome.status === 401) void reply.header('www-authenticate', 'Bearer realm="netboot"');
    void reply.code(outcome.status).send({ error: outcome.message });
    return false;
  };

  const stateWriteFailed = (reply: FastifyReply, host: HostConfig, error: unknown): FastifyReply => {
    const code = error instanceof NetbootError ? error.code : 'NETBOOT_ERR_STATE_WRITE';
    const message = (error as Error).message;
    context.events.record({ kind: 'state.error', mac: host.mac, ip: null, host: host.name, outcome: 'failure', message });
    context.log.error({ code, host: host.name, err: error }, 'boot-once state not saved');
    return reply.code(500).send({ error: message, code });
  };

  app.post<{ Params: { name: string } }>('/api/hosts/:name/done', async (request, reply) => {
    const host = findBootOnceHost(request, reply);
    if (host === null || !authorise(request, reply, host)) return reply;
    try {
      await context.bootOnce.markDone(host.name);
    } catch (error) {
      return stateWriteFailed(reply, host, error);
    }
    const ip = requestClientAddress(request);
    context.events.record({ kind: 'boot.done', mac: host.mac, ip, host: host.name, outcome: 'ok', message: `install reported done; ${host.name} boots locally until re-armed` });
    context.log.info({ host: host.name, ip }, 'boot-once install done');
    return { host: host.name, ...bootOnceState(context, host) };
  });

  app.post<{ Params: { name: string } }>('/api/hosts/:name/reinstall', async (request, reply) => {
    const host = findBootOnceHost(request, reply);
    if (host === null || !authorise(request, reply, null)) return reply;
    try {
      await context.bootOnce.rearm(host.name);
    } catch (error) {
      return stateWriteFailed(reply, host, error);
    }
    const ip = requestClientAddress(request);
    context.events.record({ kind: 'boot.rearmed', mac: host.mac, ip, host: host.name, outcome: 'ok', message: `re-armed: ${host.name} installs on its next network boot` });
    context.log.info({ host: host.name, ip }, 'boot-once host re-armed');
    return { host: host.name, ...bootOnceState(context, host) };
  });
}

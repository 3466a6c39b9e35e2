/**
 * The HTTP side of the appliance as a fastify instance that does not listen:
 * tests drive it with inject(), service.ts calls listen. Everything it serves
 * reads `context.config()` per request, so a reload takes effect on the next
 * request without rebuilding routes.
 */
import { createServer, METHODS, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config/types.js';
import type { ServiceContext } from '../supervisor/service.js';
import { registerApiRoutes } from './routes/api.js';
import { registerFileRoutes } from './routes/files.js';
import { registerIpxeRoutes } from './routes/ipxe.js';
import { registerKickstartRoutes } from './routes/kickstart.js';
import { registerMetricsRoutes } from './routes/metrics.js';
import { registerStatusPageRoute } from './routes/status-page.js';
import { clientText, rememberPeerAddress } from './client.js';
import { HttpTransferTracker } from './transfer-tracker.js';

/**
 * A client that opens a connection and sends its headers a byte at a time
 * (slowloris) is cut off after this long, whatever requestTimeout says.
 */
export const HEADERS_TIMEOUT_CAP_S = 10;

/** Socket idle limit: a download that stops reading for this long is dropped, so dead clients do not pin file handles. */
export const IDLE_SOCKET_TIMEOUT_S = 120;

/** Bodies are read and dropped; anything larger is refused (413). */
export const CALLBACK_BODY_LIMIT_BYTES = 64 * 1024;

/** How often Node looks for requests past their headers or request timeout. */
export const CONNECTION_CHECK_INTERVAL_MS = 1000;

export interface HttpServerTimeouts {
  /** Time to receive a whole request (not to send the response: multi-GB downloads are not cut). */
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleSocketTimeoutMs: number;
}

export function timeoutsFor(config: Config): HttpServerTimeouts {
  const requestTimeoutMs = Math.max(1, config.http.requestTimeoutS) * 1000;
  return {
    requestTimeoutMs,
    // Node requires headersTimeout <= requestTimeout.
    headersTimeoutMs: Math.min(requestTimeoutMs, HEADERS_TIMEOUT_CAP_S * 1000),
    keepAliveTimeoutMs: Math.max(1, config.http.keepAliveTimeoutS) * 1000,
    idleSocketTimeoutMs: IDLE_SOCKET_TIMEOUT_S * 1000,
  };
}

/** Sets the Node server's limits; also used on reload (they apply to new connections and requests). */
export function applyTimeouts(app: FastifyInstance, timeouts: HttpServerTimeouts): void {
  const server = app.server;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  server.setTimeout(timeouts.idleSocketTimeoutMs);
}

/** The methods fastify's routers (the 404 one included) have trees for. */
const ROUTABLE_METHODS = new Set(METHODS);

/**
 * Node's parser accepts one method that is not in http.METHODS: PRI (the
 * HTTP/2 preface's). Neither fastify's router nor its 404 router has a tree
 * for it, so `PRI /x` fell through both to a fallback that logs fastify's
 * "default handler for 404 did not catch this" warning plus the whole route
 * tree (the fuzz run's last such lines came from mutated `PRI /` requests),
 * and fastify will not add it as a method. Answered before fastify: 501.
 */
function answerUnroutable(request: IncomingMessage, response: ServerResponse): boolean {
  if (ROUTABLE_METHODS.has(request.method ?? '')) return false;
  response.writeHead(501, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  response.end('Not Implemented\n');
  return true;
}

/** The scheme and authority of an absolute-form target (`GET http://10.0.0.1/boot.ipxe`, RFC 9112 §3.2.2). */
const ABSOLUTE_FORM_PREFIX = /^https?:\/\/[^/?#]*/i;

/**
 * What the router sees: always a path. A server must accept absolute-form
 * targets (RFC 9112 §3.2.2; a client behind a proxy config sends them), and
 * the file routes cut their prefix from `request.url`, so they get the path
 * alone. A target that is no path at all (`OPTIONS *`, `GET *`, §3.2.4)
 * would slip past fastify's 404 route to a fallback that logs two warnings
 * per request, one the whole route tree (1.4 KiB): a log flood for anyone
 * who can connect (seen in the fuzz run). With a leading slash it gets the
 * plain 404 like any unknown path.
 */
export function routableUrl(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  if (url.startsWith('/')) return url;
  const absolute = ABSOLUTE_FORM_PREFIX.exec(url);
  const rest = absolute === null ? url : url.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

export interface HttpAppOptions {
  /** Where the service listens, for /api/status when the supervisor gives no service list. */
  describe?: () => string;
}

export interface HttpApp {
  app: FastifyInstance;
  tracker: HttpTransferTracker;
}

export function createHttpApp(context: ServiceContext, options: HttpAppOptions = {}): FastifyInstance {
  return buildHttpApp(context, options).app;
}

export function buildHttpApp(context: ServiceContext, options: HttpAppOptions = {}): HttpApp {
  const timeouts = timeoutsFor(context.config());
  const app: FastifyInstance = Fastify({
    loggerInstance: context.log as FastifyBaseLogger,
    // Our own log lines name the fields an admin greps for; fastify's per-request
    // lines would double the log volume of a boot storm for nothing.
    logController: new LogController({ disableRequestLogging: true }),
    // No requestTimeout/keepAliveTimeout/connectionTimeout here: fastify does not apply them to a
    // serverFactory's server; applyTimeouts() below sets them on it.
    // Node checks the headers and request timeouts only this often (default 30 s).
    serverFactory: (handler) => createServer({ connectionsCheckingInterval: CONNECTION_CHECK_INTERVAL_MS }, (request, response) => {
      if (!answerUnroutable(request, response)) handler(request, response);
    }),
    // On close, idle keep-alive sockets go at once; busy ones get the drain time (service.ts).
    forceCloseConnections: 'idle',
    rewriteUrl: (request) => routableUrl(request.url),
  });
  applyTimeouts(app, timeouts);
  app.server.on('connection', rememberPeerAddress);
  const tracker = new HttpTransferTracker(context);

  // No route reads a body, but installers' callbacks send one: `wget --post-data=''` and `curl -d ''` say
  // application/x-www-form-urlencoded, which fastify would answer with 415 (and an empty JSON body with 400),
  // and the host would reinstall forever.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: CALLBACK_BODY_LIMIT_BYTES }, (_request, _body, done) => done(null, undefined));

  // Only HTTP/1.x: Node's parser accepts an HTTP/0.9 request line (`GET /file` with no version), which
  // has no headers and cannot carry a status line; answering it with an HTTP/1.1 response is wrong, and
  // no boot client speaks it. 505 and close.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.raw.httpVersionMajor !== 1) {
      void reply.code(505).header('connection', 'close').send({ error: 'HTTP Version Not Supported', message: 'only HTTP/1.0 and HTTP/1.1 are served' });
      return;
    }
    done();
  });

  app.addHook('onClose', (_instance, done) => {
    tracker.close();
    done();
  });

  registerMetricsRoutes(app, context);
  registerIpxeRoutes(app, context);
  registerKickstartRoutes(app, context);
  registerFileRoutes(app, context, tracker);
  registerApiRoutes(app, context, tracker, { describe: options.describe ?? (() => 'http (not listening)'), startedAt: Date.now() });
  registerStatusPageRoute(app);

  app.setNotFoundHandler((request, reply) => reply.code(404).type('text/plain; charset=utf-8').send(`Not Found: ${request.method} ${clientText(request.url.split('?')[0] ?? '')}\n`));
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) context.log.error({ err: error, url: clientText(request.url.split('?')[0] ?? '') }, 'HTTP request failed');
    return reply.code(status).type('text/plain; charset=utf-8').send(status >= 500 ? 'Internal Server Error\n' : `${error.message}\n`);
  });
  return { app, tracker };
}

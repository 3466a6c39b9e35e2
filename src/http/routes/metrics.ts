/**
 * `GET /metrics` (Prometheus text format 0.0.4) from the shared registry, and
 * the HTTP service's own count: requests by route pattern (not raw URL, so
 * a scan of random paths cannot grow the series without bound), method and
 * status.
 */
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../supervisor/service.js';

export const HTTP_REQUESTS_METRIC = 'netboot_http_requests_total';

export function registerMetricsRoutes(app: FastifyInstance, context: ServiceContext): void {
  app.addHook('onResponse', (request, reply, done) => {
    context.metrics.inc(HTTP_REQUESTS_METRIC, 'HTTP requests by route, method and status', {
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      status: String(reply.statusCode),
    });
    done();
  });

  app.get('/metrics', (_request, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(context.metrics.render()));
}

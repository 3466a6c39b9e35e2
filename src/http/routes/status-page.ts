/** The status page at `/`: one self-contained HTML file (see ui/status-page.ts), no build step. */
import type { FastifyInstance } from 'fastify';
import { STATUS_PAGE_HTML } from '../ui/status-page.js';

export function registerStatusPageRoute(app: FastifyInstance): void {
  app.get('/', (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      // The page only talks to its own origin; nothing else may run in it.
      .header('content-security-policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
      .send(STATUS_PAGE_HTML),
  );
}

/**
 * Files over HTTP: installer trees at `/trees/<name>/...` and the TFTP root at
 * `/tftp/...` (iPXE and UEFI HTTP boot fetch loaders, kernels and initrds
 * there). @fastify/send does the HTTP part: Range (206/416), HEAD,
 * ETag/Last-Modified with conditional requests, and streaming from disk
 * without buffering. We add what it lacks: the path rules of
 * request-path.ts, a realpath containment check per request (it follows
 * symlinks out of its root), no directory listings, and a refused request
 * logged with the client's address.
 *
 * Roots are read from the config per request, so a reload that adds a tree or
 * moves the TFTP root takes effect on the next request.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/types.js';
import { parseIpv4 } from '../../net/ipv4.js';
import { virtualTftpFile } from '../../policy/virtual-files.js';
import type { ServiceContext } from '../../supervisor/service.js';
import { clientText, macForClient, requestClientAddress } from '../client.js';
import { containFile } from '../containment.js';
import { resolveRequestPath } from '../request-path.js';
import type { HttpTransferTracker } from '../transfer-tracker.js';

/**
 * Read size per disk read. fs streams default to 64 KiB; larger reads halve
 * the syscalls and event-loop turns for multi-GB images (bench/http.mjs).
 */
export const FILE_READ_CHUNK_BYTES = 256 * 1024;

const SEND_OPTIONS = {
  dotfiles: 'deny',
  acceptRanges: true,
  etag: true,
  lastModified: true,
  // Kernels and trees change when an admin replaces them; clients revalidate with ETag.
  cacheControl: false,
  index: false,
  highWaterMark: FILE_READ_CHUNK_BYTES,
} as const;

/** The path part of the URL after `prefix`, still percent-encoded (the query string cut off). */
function rawPathAfter(url: string, prefix: string): string {
  const question = url.indexOf('?');
  const path = question === -1 ? url : url.slice(0, question);
  return path.slice(prefix.length);
}

export function registerFileRoutes(app: FastifyInstance, context: ServiceContext, tracker: HttpTransferTracker): void {
  const refuse = (request: FastifyRequest, reply: FastifyReply, config: Config, status: 400 | 403 | 404, code: string, reason: string): FastifyReply => {
    const ip = requestClientAddress(request);
    const path = clientText(request.url.split('?')[0] ?? request.url);
    context.metrics.inc('netboot_http_refused_total', 'HTTP file requests refused by the path rules', { reason: code });
    context.events.record({ kind: 'http.refused', mac: macForClient(context, config, ip), ip, host: null, outcome: 'failure', message: `refused ${path}: ${reason}`, details: { path, reason: code, status } });
    context.log.warn({ ip, path, reason, status }, 'HTTP file request refused');
    return reply.code(status).type('text/plain; charset=utf-8').send(status === 404 ? 'Not Found\n' : status === 400 ? 'Bad Request\n' : 'Forbidden\n');
  };

  const serveFrom = async (request: FastifyRequest, reply: FastifyReply, root: string, rawPath: string, label: string, virtual?: (path: string) => string | null): Promise<FastifyReply> => {
    const config = context.config();
    const checked = resolveRequestPath(rawPath);
    if (!checked.ok) {
      // A plain folder request is not an attack: 404 without an event.
      if (checked.status === 404) return reply.code(404).type('text/plain; charset=utf-8').send('Not Found\n');
      return refuse(request, reply, config, checked.status, checked.code, checked.reason);
    }
    const found = await containFile(root, checked.path);
    if (found.kind === 'outside') {
      // The target goes to the log only: the event list is readable by anyone on the boot network.
      context.log.warn({ path: clientText(checked.path), root, target: found.realPath }, 'symlink in a served folder points outside it');
      return refuse(request, reply, config, 403, 'symlink-out', 'symlink leaves the root');
    }
    if (found.kind !== 'file') {
      const generated = found.kind === 'missing' ? virtual?.(checked.path) ?? null : null;
      if (generated !== null) return reply.code(200).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(generated);
      // A kernel or initrd that is not there is the answer to "why did node07 not boot?": an event, not just a 404.
      const ip = requestClientAddress(request);
      const mac = macForClient(context, config, ip);
      const file = clientText(`${label}${checked.path}`);
      context.events.record({ kind: 'http.file', mac, ip, host: mac === null ? null : config.hostsByMac.get(mac)?.name ?? null, outcome: 'failure', message: `${file}: not found`, details: { file, status: 404 } });
      return reply.code(404).type('text/plain; charset=utf-8').send('Not Found\n');
    }
    // An existing file's name, but possibly a view into a long URL (see clientText): copied before the tracker keeps it.
    tracker.expect(reply, clientText(`${label}${checked.path}`));
    return reply.sendFile(found.relativePath, found.realRoot, SEND_OPTIONS);
  };

  app.route({
    method: ['GET', 'HEAD'],
    url: '/trees/:tree/*',
    handler: (request, reply) => {
      const config = context.config();
      const rest = rawPathAfter(request.url, '/trees/');
      const slash = rest.indexOf('/');
      const treeName = rest.slice(0, slash);
      const root = Object.hasOwn(config.http.trees, treeName) ? config.http.trees[treeName] : undefined;
      if (root === undefined) return reply.code(404).type('text/plain; charset=utf-8').send(`Not Found: no tree named "${treeName}"\n`);
      return serveFrom(request, reply, root, rest.slice(slash + 1), `/trees/${treeName}/`);
    },
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/tftp/*',
    handler: (request, reply) => {
      const config = context.config();
      const ip = parseIpv4(requestClientAddress(request));
      // lpxelinux and GRUB over HTTP ask for the same generated configs they would ask TFTP for.
      const virtual = (path: string) => virtualTftpFile(config, path, { clientAddress: ip, macForAddress: (address) => context.leases().macForAddress(address), state: context.bootState });
      return serveFrom(request, reply, config.tftp.root, rawPathAfter(request.url, '/tftp/'), '/tftp/', virtual);
    },
  });
}

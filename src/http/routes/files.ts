/**
 * Files over HTTP: installer trees at `/trees/<name>/...` and the TFTP root at
 * `/tftp/...` (iPXE and UEFI HTTP boot fetch loaders, kernels and initrds
 * there). The path rules of request-path.ts, a realpath containment check per
 * request (a symlink must not lead out of its root), no directory listings,
 * then file-response.ts decides the answer (Range 206/416, HEAD,
 * ETag/Last-Modified with conditional requests) and file-stream.ts pumps the
 * bytes straight into the response, outside fastify's reply pipeline (which
 * would cost a stream and a fresh buffer per chunk).
 *
 * Refusals are logged with the client's address through a rate limit (a
 * scanner must not flood the log) and always counted by reason.
 *
 * Roots are read from the config per request, so a reload that adds a tree or
 * moves the TFTP root takes effect on the next request.
 */
import { close, constants as fsConstants, fstat, open } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/types.js';
import { RateLimitedWarnings } from '../../log/rate-limited-warnings.js';
import { parseIpv4 } from '../../net/ipv4.js';
import { virtualTftpFile } from '../../policy/virtual-files.js';
import type { ServiceContext } from '../../supervisor/service.js';
import { clientText, macForClient, requestClientAddress } from '../client.js';
import { containFile } from '../containment.js';
import { planFileAnswer } from '../file-response.js';
import { streamFile } from '../file-stream.js';
import { resolveRequestPath, type RefusalCode } from '../request-path.js';
import type { HttpTransferTracker } from '../transfer-tracker.js';

const openFile = promisify(open);
const fstatFile = promisify(fstat);

/** The reasons `netboot_http_refused_total` counts by: the path rules' codes and a symlink out of the root. */
export type HttpRefusalReason = Exclude<RefusalCode, 'folder'> | 'symlink-out';

interface RefusalFields {
  ip: string;
  path: string;
  reason: HttpRefusalReason;
  why: string;
  status: number;
  /** Where a symlink out of the root points: in the log only (the event list is readable by anyone on the boot network). */
  target?: string;
}

/** The path part of the URL after `prefix`, still percent-encoded (the query string cut off). */
function rawPathAfter(url: string, prefix: string): string {
  const question = url.indexOf('?');
  const path = question === -1 ? url : url.slice(0, question);
  return path.slice(prefix.length);
}

const STATUS_TEXT: Record<number, string> = { 304: '', 412: 'Precondition Failed\n', 416: 'Range Not Satisfiable\n' };

export function registerFileRoutes(app: FastifyInstance, context: ServiceContext, tracker: HttpTransferTracker): void {
  const refusalLog = new RateLimitedWarnings<RefusalFields>(context.log, {
    message: 'HTTP file request refused',
    summaryMessage: 'HTTP file requests refused (interval summary, not logged one by one)',
    key: (fields) => `${fields.ip}\u0000${fields.reason}`,
    reason: (fields) => fields.reason,
    client: (fields) => fields.ip,
  });
  app.addHook('onClose', (_instance, done) => {
    refusalLog.close();
    done();
  });

  const refuse = (request: FastifyRequest, reply: FastifyReply, config: Config, status: 400 | 403 | 404, reason: HttpRefusalReason, why: string, target?: string): FastifyReply => {
    const ip = requestClientAddress(request);
    const path = clientText(request.url.split('?')[0] ?? request.url);
    context.metrics.inc('netboot_http_refused_total', 'HTTP file requests refused by the path rules', { reason });
    context.events.record({ kind: 'http.refused', mac: macForClient(context, config, ip), ip, host: null, outcome: 'failure', message: `refused ${path}: ${why}`, details: { path, reason, status } });
    refusalLog.note(target === undefined ? { ip, path, reason, why, status } : { ip, path, reason, why, status, target });
    return reply.code(status).type('text/plain; charset=utf-8').send(status === 404 ? 'Not Found\n' : status === 400 ? 'Bad Request\n' : 'Forbidden\n');
  };

  const notFound = (request: FastifyRequest, reply: FastifyReply, config: Config, file: string): FastifyReply => {
    // A kernel or initrd that is not there is the answer to "why did node07 not boot?": an event, not just a 404.
    const ip = requestClientAddress(request);
    const mac = macForClient(context, config, ip);
    context.events.record({ kind: 'http.file', mac, ip, host: mac === null ? null : config.hostsByMac.get(mac)?.name ?? null, outcome: 'failure', message: `${file}: not found`, details: { file, status: 404 } });
    return reply.code(404).type('text/plain; charset=utf-8').send('Not Found\n');
  };

  const serveFrom = async (request: FastifyRequest, reply: FastifyReply, root: string, rawPath: string, label: string, virtual?: (path: string) => string | null): Promise<FastifyReply> => {
    const config = context.config();
    const checked = resolveRequestPath(rawPath);
    if (!checked.ok) {
      // A plain folder request is not an attack: 404 without an event.
      if (checked.code === 'folder') return reply.code(404).type('text/plain; charset=utf-8').send('Not Found\n');
      return refuse(request, reply, config, checked.status, checked.code, checked.reason);
    }
    const found = await containFile(root, checked.path);
    if (found.kind === 'outside') return refuse(request, reply, config, 403, 'symlink-out', 'symlink leaves the root', found.realPath);
    // An existing file's name, but possibly a view into a long URL (see clientText): copied before anything keeps it.
    const file = clientText(`${label}${checked.path}`);
    if (found.kind !== 'file') {
      const generated = found.kind === 'missing' ? virtual?.(checked.path) ?? null : null;
      if (generated !== null) return reply.code(200).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(generated);
      return notFound(request, reply, config, file);
    }

    // The real path, every symlink resolved and checked; O_NOFOLLOW so a symlink swapped in since cannot be followed.
    let fd: number;
    try {
      fd = await openFile(join(found.realRoot, found.relativePath), fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    } catch {
      return notFound(request, reply, config, file);
    }
    let answer;
    try {
      const info = await fstatFile(fd);
      if (!info.isFile()) throw new Error('not a file');
      answer = planFileAnswer(request.headers, { size: info.size, mtimeMs: info.mtimeMs, name: found.relativePath });
    } catch {
      close(fd, () => undefined);
      return notFound(request, reply, config, file);
    }
    if (answer.kind === 'status' || request.method !== 'GET') {
      close(fd, () => undefined);
      void reply.code(answer.status).headers(answer.headers);
      if (answer.kind === 'status' && answer.status !== 304) void reply.type('text/plain; charset=utf-8');
      return reply.send(answer.kind === 'status' ? STATUS_TEXT[answer.status] || undefined : undefined);
    }

    reply.hijack();
    const res = reply.raw;
    const progress = tracker.begin(request, res, { file, bytes: answer.length, range: answer.status === 206 ? answer.headers['content-range'] ?? null : null });
    if (!res.destroyed) res.writeHead(answer.status, answer.headers);
    // streamFile closes the descriptor whatever happens, also when the client is already gone (the tracker records that).
    const outcome = await streamFile(res, fd, answer.start, answer.length, progress);
    if (outcome === 'read-error') {
      context.log.warn({ client: request.ip, file, sent: progress.sent, bytes: answer.length }, 'HTTP download cut short: the file could not be read (changed or removed while being sent?)');
    }
    return reply;
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

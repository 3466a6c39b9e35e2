/**
 * What to answer to a GET or HEAD for a file, decided from the request
 * headers and the file's size and mtime alone (pure: the whole table of
 * conditional and Range cases is tested without a socket). The streaming is
 * file-stream.ts's job.
 *
 * Semantics are those @fastify/send gave us before (same ETag form, so caches
 * keep validating across the change), per RFC 9110:
 * - If-Match / If-Unmodified-Since that fail: 412;
 * - If-None-Match (or, without it, If-Modified-Since) that match: 304, unless
 *   the request says `Cache-Control: no-cache`;
 * - one `bytes=` range: 206 with Content-Range, or 416 with `bytes *\/size`
 *   when it starts past the end; If-Range that does not match the file turns
 *   it back into a 200 of the whole file;
 * - several ranges, or a Range header we cannot parse: ignored (200, the
 *   whole file: RFC 9110 §14.2 lets a server ignore Range; no boot client
 *   asks for multipart/byteranges).
 */

export interface FileFacts {
  size: number;
  mtimeMs: number;
  /** The file name, for the Content-Type. */
  name: string;
}

export type RequestHeaders = Record<string, string | string[] | undefined>;

export type FileAnswer =
  /** Send `length` bytes from `start` (none for HEAD) with `status` and `headers`. */
  | { kind: 'body'; status: 200 | 206; headers: Record<string, string>; start: number; length: number }
  /** Headers only, no body: 304, 412, 416. */
  | { kind: 'status'; status: 304 | 412 | 416; headers: Record<string, string> };

/** The weak validator @fastify/send used: size and mtime in hex. */
export function fileEtag(size: number, mtimeMs: number): string {
  return `W/"${size.toString(16)}-${Math.trunc(mtimeMs).toString(16)}"`;
}

/**
 * Types by extension for what a boot server holds. Everything else (kernels
 * without an extension, initrds, ISOs, EFI binaries) is a byte stream to the
 * firmware anyway.
 */
const CONTENT_TYPES: Record<string, string> = {
  txt: 'text/plain; charset=utf-8',
  cfg: 'text/plain; charset=utf-8',
  conf: 'text/plain; charset=utf-8',
  ipxe: 'text/plain; charset=utf-8',
  ks: 'text/plain; charset=utf-8',
  seed: 'text/plain; charset=utf-8',
  yaml: 'text/yaml; charset=utf-8',
  yml: 'text/yaml; charset=utf-8',
  json: 'application/json; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  sh: 'application/x-sh',
  iso: 'application/x-iso9660-image',
  gz: 'application/gzip',
  xz: 'application/x-xz',
  zst: 'application/zstd',
  bz2: 'application/x-bzip2',
  tar: 'application/x-tar',
  zip: 'application/zip',
  rpm: 'application/x-rpm',
  deb: 'application/vnd.debian.binary-package',
  sig: 'application/pgp-signature',
  asc: 'application/pgp-signature',
  gpg: 'application/pgp-keys',
  png: 'image/png',
  jpg: 'image/jpeg',
  svg: 'image/svg+xml',
};

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export function contentTypeFor(name: string): string {
  const slash = name.lastIndexOf('/');
  const dot = name.lastIndexOf('.');
  if (dot <= slash + 1) return DEFAULT_CONTENT_TYPE; // no extension, or a leading dot only
  return CONTENT_TYPES[name.slice(dot + 1).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}

function header(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The entity tags of an If-Match / If-None-Match list, or '*' (RFC 9110 §13.1.1). */
function tagList(value: string): string[] {
  return value.split(',').map((each) => each.trim()).filter((each) => each !== '');
}

/** Weak comparison (RFC 9110 §8.8.3.2): W/ is ignored on both sides. */
function weakMatch(list: string, etag: string): boolean {
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  return tagList(list).some((tag) => tag === '*' || (tag.startsWith('W/') ? tag.slice(2) : tag) === opaque);
}

/** Seconds resolution, as Last-Modified carries it. */
function modifiedAfter(mtimeMs: number, httpDate: string): boolean | null {
  const date = Date.parse(httpDate);
  if (Number.isNaN(date)) return null;
  return Math.floor(mtimeMs / 1000) * 1000 > date;
}

type ParsedRange = { kind: 'none' } | { kind: 'unsatisfiable' } | { kind: 'range'; start: number; end: number };

const SINGLE_RANGE = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i;

/** One `bytes=` range against a file of `size` bytes; anything else is `none` (ignored). */
export function parseRange(value: string, size: number): ParsedRange {
  const match = SINGLE_RANGE.exec(value);
  if (match === null) return { kind: 'none' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'none' };
  if (first === '') {
    // `-N`: the last N bytes.
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Number.POSITIVE_INFINITY : Number(last);
  // `500-100` is not a range at all (RFC 9110 §14.1.1: ignored); `500-` on a 100-byte file is one that misses.
  if (!Number.isSafeInteger(start) || end < start) return { kind: 'none' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(end, size - 1) };
}

/** Whether If-Range (an ETag or a date) still names this file; without one, a range always applies. */
function rangeStillFresh(headers: RequestHeaders, etag: string, mtimeMs: number): boolean {
  const ifRange = header(headers, 'if-range');
  if (ifRange === undefined) return true;
  if (ifRange.includes('"')) return ifRange.includes(etag);
  const after = modifiedAfter(mtimeMs, ifRange);
  return after === false;
}

export function planFileAnswer(headers: RequestHeaders, file: FileFacts): FileAnswer {
  const etag = fileEtag(file.size, file.mtimeMs);
  const lastModified = new Date(file.mtimeMs).toUTCString();
  const validators = { etag, 'last-modified': lastModified };

  const ifMatch = header(headers, 'if-match');
  if (ifMatch !== undefined && !weakMatch(ifMatch, etag)) return { kind: 'status', status: 412, headers: validators };
  const ifUnmodifiedSince = header(headers, 'if-unmodified-since');
  if (ifMatch === undefined && ifUnmodifiedSince !== undefined && modifiedAfter(file.mtimeMs, ifUnmodifiedSince) === true) {
    return { kind: 'status', status: 412, headers: validators };
  }

  const noCache = header(headers, 'cache-control')?.includes('no-cache') === true;
  if (!noCache) {
    const ifNoneMatch = header(headers, 'if-none-match');
    if (ifNoneMatch !== undefined) {
      if (weakMatch(ifNoneMatch, etag)) return { kind: 'status', status: 304, headers: validators };
    } else {
      const ifModifiedSince = header(headers, 'if-modified-since');
      if (ifModifiedSince !== undefined && modifiedAfter(file.mtimeMs, ifModifiedSince) === false) return { kind: 'status', status: 304, headers: validators };
    }
  }

  const common = { ...validators, 'accept-ranges': 'bytes', 'content-type': contentTypeFor(file.name) };
  const rangeHeader = header(headers, 'range');
  if (rangeHeader !== undefined && rangeStillFresh(headers, etag, file.mtimeMs)) {
    const range = parseRange(rangeHeader, file.size);
    if (range.kind === 'unsatisfiable') return { kind: 'status', status: 416, headers: { ...common, 'content-range': `bytes */${file.size}` } };
    if (range.kind === 'range') {
      const length = range.end - range.start + 1;
      return { kind: 'body', status: 206, start: range.start, length, headers: { ...common, 'content-range': `bytes ${range.start}-${range.end}/${file.size}`, 'content-length': String(length) } };
    }
  }
  return { kind: 'body', status: 200, start: 0, length: file.size, headers: { ...common, 'content-length': String(file.size) } };
}

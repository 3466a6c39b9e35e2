import { describe, expect, it } from 'vitest';
import { contentTypeFor, fileEtag, parseRange, planFileAnswer, type FileAnswer, type RequestHeaders } from '../../../src/http/file-response.js';

const SIZE = 1000;
const MTIME = Date.UTC(2026, 10, 1, 12, 0, 0, 500); // sub-second part: Last-Modified carries seconds only
const FILE = { size: SIZE, mtimeMs: MTIME, name: 'demo/vmlinuz' };
const ETAG = fileEtag(SIZE, MTIME);
const LAST_MODIFIED = new Date(MTIME).toUTCString();
const BEFORE = new Date(MTIME - 60_000).toUTCString();
const AFTER = new Date(MTIME + 60_000).toUTCString();

const plan = (headers: RequestHeaders): FileAnswer => planFileAnswer(headers, FILE);
const summary = (answer: FileAnswer): string => (answer.kind === 'body' ? `${answer.status} ${answer.start}+${answer.length}` : String(answer.status));

describe('planFileAnswer', () => {
  it('answers a plain GET with the whole file and its validators', () => {
    const answer = plan({});
    expect(answer).toEqual({
      kind: 'body', status: 200, start: 0, length: SIZE,
      headers: { etag: ETAG, 'last-modified': LAST_MODIFIED, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream', 'content-length': String(SIZE) },
    });
    // The form @fastify/send used, so caches keep validating across the change.
    expect(ETAG).toBe(`W/"3e8-${MTIME.toString(16)}"`);
  });

  it.each<[string, RequestHeaders, string]>([
    ['a range', { range: 'bytes=10-19' }, '206 10+10'],
    ['an open range', { range: 'bytes=990-' }, '206 990+10'],
    ['a suffix range', { range: 'bytes=-5' }, '206 995+5'],
    ['a suffix longer than the file', { range: 'bytes=-5000' }, `206 0+${SIZE}`],
    ['an end past the file (clamped)', { range: 'bytes=900-5000' }, '206 900+100'],
    ['an end past 2^64 (clamped)', { range: 'bytes=0-18446744073709551616' }, `206 0+${SIZE}`],
    ['spaces around the parts', { range: ' bytes = 1 - 2 ' }, '206 1+2'],
    ['a start past the end', { range: 'bytes=1000-' }, '416'],
    ['a huge start', { range: 'bytes=99999999999999-' }, '416'],
    ['-0', { range: 'bytes=-0' }, '416'],
    ['end before start (ignored)', { range: 'bytes=100-50' }, `200 0+${SIZE}`],
    ['garbage (ignored)', { range: 'bytes=abc' }, `200 0+${SIZE}`],
    ['another unit (ignored)', { range: 'bits=0-1' }, `200 0+${SIZE}`],
    ['an empty set (ignored)', { range: 'bytes=' }, `200 0+${SIZE}`],
    ['several ranges (ignored: whole file)', { range: 'bytes=0-0,5-9' }, `200 0+${SIZE}`],
    ['If-Range with the ETag', { range: 'bytes=0-9', 'if-range': ETAG }, '206 0+10'],
    ['If-Range with another ETag', { range: 'bytes=0-9', 'if-range': 'W/"other"' }, `200 0+${SIZE}`],
    ['If-Range with the Last-Modified date', { range: 'bytes=0-9', 'if-range': LAST_MODIFIED }, '206 0+10'],
    ['If-Range with an older date', { range: 'bytes=0-9', 'if-range': BEFORE }, `200 0+${SIZE}`],
    ['If-Range garbage', { range: 'bytes=0-9', 'if-range': 'nope' }, `200 0+${SIZE}`],
    ['If-None-Match with the ETag', { 'if-none-match': ETAG }, '304'],
    ['If-None-Match with the ETag in a list, strong form', { 'if-none-match': `"x", ${ETAG.slice(2)}` }, '304'],
    ['If-None-Match *', { 'if-none-match': '*' }, '304'],
    ['If-None-Match with another ETag', { 'if-none-match': '"x"' }, `200 0+${SIZE}`],
    ['If-None-Match with another ETag beats a matching date', { 'if-none-match': '"x"', 'if-modified-since': AFTER }, `200 0+${SIZE}`],
    ['If-Modified-Since the Last-Modified date', { 'if-modified-since': LAST_MODIFIED }, '304'],
    ['If-Modified-Since an older date', { 'if-modified-since': BEFORE }, `200 0+${SIZE}`],
    ['If-Modified-Since garbage', { 'if-modified-since': 'yesterday' }, `200 0+${SIZE}`],
    ['Cache-Control: no-cache beats If-None-Match', { 'if-none-match': ETAG, 'cache-control': 'no-cache' }, `200 0+${SIZE}`],
    ['If-Match with the ETag', { 'if-match': ETAG }, `200 0+${SIZE}`],
    ['If-Match with another ETag', { 'if-match': '"x"' }, '412'],
    ['If-Unmodified-Since an older date', { 'if-unmodified-since': BEFORE }, '412'],
    ['If-Unmodified-Since a later date', { 'if-unmodified-since': AFTER, range: 'bytes=0-0' }, '206 0+1'],
  ])('%s', (_name, headers, expected) => {
    expect(summary(plan(headers))).toBe(expected);
  });

  it('names the range in Content-Range, and the size in a 416', () => {
    expect(plan({ range: 'bytes=10-19' }).headers['content-range']).toBe(`bytes 10-19/${SIZE}`);
    expect(plan({ range: 'bytes=10-19' }).headers['content-length']).toBe('10');
    expect(plan({ range: 'bytes=5000-' }).headers['content-range']).toBe(`bytes */${SIZE}`);
  });

  it('a range of an empty file is unsatisfiable', () => {
    expect(summary(planFileAnswer({ range: 'bytes=0-' }, { ...FILE, size: 0 }))).toBe('416');
    expect(summary(planFileAnswer({ range: 'bytes=-1' }, { ...FILE, size: 0 }))).toBe('416');
    expect(summary(planFileAnswer({}, { ...FILE, size: 0 }))).toBe('200 0+0');
  });
});

describe('parseRange', () => {
  it('parses one range and leaves everything else alone', () => {
    expect(parseRange('bytes=0-0', 10)).toEqual({ kind: 'range', start: 0, end: 0 });
    expect(parseRange(`bytes=${Array.from({ length: 2000 }, () => '0-0').join(',')}`, 10)).toEqual({ kind: 'none' });
    expect(parseRange('bytes=--1', 10)).toEqual({ kind: 'none' });
  });
});

describe('contentTypeFor', () => {
  it.each([
    ['demo/vmlinuz', 'application/octet-stream'],
    ['demo/initrd.img', 'application/octet-stream'],
    ['boot.ipxe', 'text/plain; charset=utf-8'],
    ['pxelinux.cfg/default', 'application/octet-stream'],
    ['grub/grub.CFG', 'text/plain; charset=utf-8'],
    ['debian.iso', 'application/x-iso9660-image'],
    ['tree/.hidden', 'application/octet-stream'],
    ['dir.d/file', 'application/octet-stream'],
  ])('%s → %s', (name, type) => {
    expect(contentTypeFor(name)).toBe(type);
  });
});

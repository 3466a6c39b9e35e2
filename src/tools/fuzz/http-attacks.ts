/**
 * Malformed and hostile HTTP requests, as raw bytes (a real client library
 * would refuse to send most of them). `expect` says what a correct server
 * does: `refuse` is any 4xx/5xx or a closed connection, never a 2xx/3xx;
 * `any` is a request a server may answer or refuse, as long as it does not
 * crash and serves nothing outside its roots (the fuzzer checks every
 * response body for the canary text kept outside the roots).
 */
import type { Rng } from './rng.js';
import type { FuzzPacket } from './dhcp-packets.js';

export interface HttpAttack {
  name: string;
  request: Buffer;
  expect: 'refuse' | 'any';
}

export interface HttpAttackTargets {
  /** Host header value, e.g. `127.0.0.1:8080`. */
  host: string;
  /** A tree name from the config, served at /trees/<tree>/. */
  tree: string;
  /** A real file inside that tree (for Range attacks). */
  treeFile: string;
  /** A real file in the TFTP root (served at /tftp/). */
  tftpFile: string;
  /** A host name from the config (for /ks and /api/hosts). */
  hostName: string;
}

const CRLF = '\r\n';

function request(method: string, path: string, host: string, headers: string[] = [], body = ''): Buffer {
  return Buffer.from([`${method} ${path} HTTP/1.1`, `Host: ${host}`, 'Connection: close', ...headers, '', body].join(CRLF), 'latin1');
}

/** Paths that try to leave a root, in the spellings that have broken real servers. */
export function traversalPaths(targets: HttpAttackTargets): string[] {
  const t = `/trees/${targets.tree}`;
  return [
    `${t}/../../../../etc/passwd`, `${t}/..%2f..%2f..%2f..%2fetc%2fpasswd`, `${t}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
    `${t}/%252e%252e/%252e%252e/etc/passwd`, `${t}/..%5c..%5c..%5cetc%5cpasswd`, `${t}/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd`,
    `${t}/outside-link/secret.txt`, `${t}/.hidden`, `${t}/%2e%68idden`, `${t}/x%00.txt`, `${t}/`, `${t}`, `/trees/`, `/trees/..%2f..%2fetc/passwd`,
    '/tftp/../../../../etc/passwd', '/tftp/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/tftp/..%2f..%2f..%2fetc%2fpasswd', '/tftp/outside-link/secret.txt',
    '/tftp/', '/tftp/%2fetc%2fpasswd', '//etc/passwd', '/..%2f..%2f..%2fetc/passwd', '/boot/..%2f..%2fetc%2fpasswd.ipxe',
    `/ks/..%2f..%2f..%2fetc%2fpasswd`, `/ks/${targets.hostName}/../../../etc/passwd`, '/api/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd',
    '/tftp/pxelinux.cfg/../../../../etc/passwd', '/tftp/\\..\\..\\..\\etc\\passwd',
  ];
}

export function httpAttacks(targets: HttpAttackTargets): HttpAttack[] {
  const { host } = targets;
  const file = `/trees/${targets.tree}/${targets.treeFile}`;
  const attacks: HttpAttack[] = [];
  for (const path of traversalPaths(targets)) attacks.push({ name: `traversal ${path}`, request: request('GET', path, host), expect: 'refuse' });
  for (const method of ['FOO', 'TRACE', 'CONNECT', 'PROPFIND', 'G\u0000T', 'GET GET', 'get', 'M'.repeat(1000)]) {
    attacks.push({ name: `method ${JSON.stringify(method.slice(0, 20))}`, request: request(method, file, host), expect: 'refuse' });
  }
  attacks.push({ name: 'DELETE a tree file', request: request('DELETE', file, host), expect: 'refuse' });
  attacks.push({ name: 'PUT a tree file', request: request('PUT', file, host, ['Content-Length: 3'], 'abc'), expect: 'refuse' });
  // Huge headers: node's default limit is 16 KiB; beyond it a 431 or a closed connection is right.
  attacks.push({ name: 'one 100 KiB header', request: request('GET', file, host, [`X-Big: ${'a'.repeat(100 * 1024)}`]), expect: 'refuse' });
  attacks.push({ name: '2000 headers', request: request('GET', file, host, Array.from({ length: 2000 }, (_, i) => `X-H${i}: v`)), expect: 'refuse' });
  attacks.push({ name: '64 KiB URL', request: request('GET', `${file}?${'q'.repeat(64 * 1024)}`, host), expect: 'refuse' });
  // Broken Range: a server answers 416, or ignores the header with 200, but must not crash or hang.
  for (const range of ['bytes=abc', 'bytes=100-50', 'bytes=-0', 'bytes=99999999999999-', 'bytes=0-18446744073709551616', 'bytes=--1', 'bits=0-1', 'bytes=', `bytes=${Array.from({ length: 2000 }, () => '0-0').join(',')}`, 'bytes=0-0,-1,1-2,0-']) {
    attacks.push({ name: `Range ${range.slice(0, 30)}`, request: request('GET', file, host, [`Range: ${range}`]), expect: 'any' });
  }
  attacks.push({ name: 'If-Range garbage', request: request('GET', file, host, ['Range: bytes=0-9', 'If-Range: "nope\u0001"']), expect: 'any' });
  // Framing: smuggling and broken bodies.
  attacks.push({ name: 'CL and TE both', request: request('POST', `/api/hosts/${targets.hostName}/done`, host, ['Content-Length: 4', 'Transfer-Encoding: chunked'], '0\r\n\r\nGET /etc/passwd HTTP/1.1\r\n\r\n'), expect: 'refuse' });
  attacks.push({ name: 'two Content-Length', request: request('POST', `/api/hosts/${targets.hostName}/done`, host, ['Content-Length: 1', 'Content-Length: 2'], 'ab'), expect: 'refuse' });
  attacks.push({ name: 'bad chunk size', request: request('POST', `/api/hosts/${targets.hostName}/done`, host, ['Transfer-Encoding: chunked'], 'zz\r\nabc\r\n0\r\n\r\n'), expect: 'refuse' });
  attacks.push({ name: 'header name with space', request: request('GET', file, host, ['Bad Header: x']), expect: 'refuse' });
  attacks.push({ name: 'header with NUL', request: request('GET', file, host, ['X-A: a\u0000b']), expect: 'refuse' });
  attacks.push({ name: 'no version', request: Buffer.from(`GET ${file}\r\n\r\n`), expect: 'refuse' });
  attacks.push({ name: 'HTTP/9.9', request: Buffer.from(`GET ${file} HTTP/9.9\r\nHost: ${host}\r\n\r\n`), expect: 'refuse' });
  attacks.push({ name: 'HTTP/2 preface', request: Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), expect: 'refuse' });
  attacks.push({ name: 'bare LF lines', request: Buffer.from(`GET ${file} HTTP/1.1\nHost: ${host}\n\n`), expect: 'any' });
  attacks.push({ name: 'binary garbage', request: Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), expect: 'refuse' });
  // The API without and with a wrong token: mutations are refused (401/403).
  attacks.push({ name: 'API mutation without token', request: request('POST', `/api/hosts/${targets.hostName}/done`, host, ['Content-Length: 0']), expect: 'refuse' });
  attacks.push({ name: 'API mutation wrong token', request: request('POST', `/api/hosts/${targets.hostName}/reinstall`, host, ['Authorization: Bearer wrong-token-wrong-token', 'Content-Length: 0']), expect: 'refuse' });
  attacks.push({ name: 'API mutation token prefix', request: request('POST', `/api/hosts/${targets.hostName}/reinstall`, host, ['Authorization: Bearer ', 'Content-Length: 0']), expect: 'refuse' });
  attacks.push({ name: 'kickstart unknown host', request: request('GET', '/ks/no-such-host', host), expect: 'refuse' });
  attacks.push({ name: 'ipxe bad mac', request: request('GET', '/boot/zz:zz:zz:zz:zz:zz.ipxe', host), expect: 'any' });
  return attacks;
}

/** A random mutation of a listed attack (byte flips, cuts, repeats): for the counted part of a fuzz run. */
export function nextHttpFuzzRequest(rng: Rng, attacks: readonly HttpAttack[]): FuzzPacket<'listed' | 'mutated' | 'random'> {
  const roll = rng.below(10);
  if (roll < 3) return { kind: 'listed', bytes: rng.pick(attacks).request };
  if (roll < 9) {
    const base = Buffer.from(rng.pick(attacks).request.subarray(0, 4096));
    const edits = rng.between(1, 6);
    let bytes = base;
    for (let i = 0; i < edits; i++) {
      const at = rng.below(Math.max(1, bytes.length));
      if (rng.chance(0.5)) bytes[at] = rng.pick([0, 0x0a, 0x0d, 0x20, 0x25, 0x2f, 0x3a, 0x7f, 0xff, rng.below(256)]);
      else bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + rng.between(1, 40)))]);
    }
    // Make sure the request ends so the server does not wait for more (that is the slow-client test's job).
    return { kind: 'mutated', bytes: Buffer.concat([bytes, Buffer.from('\r\n\r\n')]) };
  }
  return { kind: 'random', bytes: Buffer.concat([rng.bytes(rng.between(1, 2000)), Buffer.from('\r\n\r\n')]) };
}

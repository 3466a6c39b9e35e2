import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { bindError, ERROR_CODES, NetbootError, type ErrorCode } from '../../src/errors.js';

const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('error codes', () => {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];

  it('are unique, well-formed, and each has a description', () => {
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) {
      expect(code).toMatch(/^NETBOOT_ERR_[A-Z0-9_]+$/);
      expect(ERROR_CODES[code].length).toBeGreaterThan(10);
    }
  });

  it.each(codes)('%s is documented in docs/errors.md', (code) => {
    expect(docs).toMatch(new RegExp(`\\b${code}\\b`));
  });

  it('docs/errors.md documents no code that does not exist', () => {
    const documented = new Set(docs.match(/NETBOOT_ERR_[A-Z0-9_]+/g) ?? []);
    for (const code of documented) expect(codes, `${code} is in docs/errors.md but not in src/errors.ts`).toContain(code);
  });

  it('NetbootError carries its code', () => {
    const error = new NetbootError('NETBOOT_ERR_USAGE', 'bad', { cause: new Error('x') });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('NETBOOT_ERR_USAGE');
    expect(error.name).toBe('NetbootError');
  });
});

describe('bindError', () => {
  const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`bind ${code}`), { code });
  it.each([
    ['EADDRINUSE', 'NETBOOT_ERR_BIND_IN_USE', /TFTP udp 0\.0\.0\.0:69: port 69 is already in use \(stop the other server.*or change the port in the config\)/],
    ['EACCES', 'NETBOOT_ERR_BIND_DENIED', /no permission to bind port 69 \(run as root, grant CAP_NET_BIND_SERVICE.*or use a port above 1023\)/],
    ['EPERM', 'NETBOOT_ERR_BIND_DENIED', /no permission/],
    ['EADDRNOTAVAIL', 'NETBOOT_ERR_BIND_ADDRESS', /not on this machine/],
    ['EINVAL', 'NETBOOT_ERR_BIND_DENIED', /cannot bind port 69/],
  ])('%s → %s, one line naming the port and the fix', (code, expected, message) => {
    const error = bindError(errno(code), 'TFTP udp 0.0.0.0:69', 69);
    expect(error.code).toBe(expected);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
  });
});

describe('exit codes', () => {
  const cliDocs = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
  it('are distinct and each is in the table of docs/cli.md', () => {
    const values = Object.values(ExitCode);
    expect(new Set(values).size).toBe(values.length);
    for (const value of values) expect(cliDocs).toMatch(new RegExp(`^\\| ${value} \\| `, 'm'));
  });
});

import { describe, expect, it } from 'vitest';
import { resolveRequestPath } from '../../../src/http/request-path.js';

describe('resolveRequestPath', () => {
  it.each([
    ['demo/vmlinuz', 'demo/vmlinuz'],
    ['demo//vmlinuz', 'demo/vmlinuz'],
    ['name%20with%20space.txt', 'name with space.txt'],
    ['a%25b', 'a%b'],
    ['%252e%252e/etc/passwd', '%2e%2e/etc/passwd'], // decoded once only: a literal file name, not a traversal
    ['demo/vmlinuz.', 'demo/vmlinuz.'],
  ])('%s → %s', (raw, path) => {
    expect(resolveRequestPath(raw)).toEqual({ ok: true, path });
  });

  it.each([
    ['../etc/passwd', 403, 'traversal'],
    ['demo/../../etc/passwd', 403, 'traversal'],
    ['%2e%2e/etc/passwd', 403, 'traversal'],
    ['%2E%2E/%2E%2E/etc/passwd', 403, 'traversal'],
    ['.%2e/etc/passwd', 403, 'traversal'],
    ['./demo/vmlinuz', 403, 'traversal'],
    ['demo%2f..%2f..%2fetc%2fpasswd', 403, 'encoded slash'],
    ['..%2Fetc/passwd', 403, 'encoded slash'],
    ['..%5cetc%5cpasswd', 403, 'encoded slash'],
    ['demo\\..\\..\\etc\\passwd', 403, 'backslash'],
    ['demo/vmlinuz%00.txt', 403, 'NUL'],
    ['.secret', 403, 'dotfile'],
    ['sub/.htpasswd', 403, 'dotfile'],
    ['%2esecret', 403, 'dotfile'],
    ['.git/config', 403, 'dotfile'],
    ['bad%zzescape', 400, 'percent-encoding'],
    ['', 404, 'folder'],
    ['demo/', 404, 'folder'],
    ['//', 404, 'folder'],
  ])('%s is refused with %i (%s)', (raw, status, reason) => {
    const result = resolveRequestPath(raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.status).toBe(status);
    expect(result.reason).toContain(reason);
  });
});

import { describe, expect, it } from 'vitest';
import { bearerToken, checkBearer, HOW_TO_ENABLE_MUTATIONS, tokensMatch } from '../../../src/http/auth.js';

const TOKEN = 'a-long-enough-token-1234';

describe('checkBearer', () => {
  it.each([
    ['no header, token configured', undefined, TOKEN, 401],
    ['empty header', '', TOKEN, 401],
    ['basic auth instead of bearer', 'Basic dXNlcjpwYXNz', TOKEN, 401],
    ['wrong token', 'Bearer not-the-token-at-all', TOKEN, 403],
    ['token prefix only', `Bearer ${TOKEN.slice(0, -1)}`, TOKEN, 403],
    ['token with extra suffix', `Bearer ${TOKEN}x`, TOKEN, 403],
    ['no header, no token configured', undefined, null, 401],
    ['a header, no token configured', `Bearer ${TOKEN}`, null, 403],
  ])('%s → %i', (_name, header, configured, status) => {
    const outcome = checkBearer(header, configured);
    expect(outcome).toMatchObject({ ok: false, status });
  });

  it.each([
    [`Bearer ${TOKEN}`],
    [`bearer ${TOKEN}`],
    [`BEARER   ${TOKEN} `],
  ])('accepts %s', (header) => {
    expect(checkBearer(header, TOKEN)).toEqual({ ok: true });
  });

  it('says how to enable mutations when no token is configured', () => {
    const outcome = checkBearer(`Bearer ${TOKEN}`, null);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.message).toBe(HOW_TO_ENABLE_MUTATIONS);
    expect(HOW_TO_ENABLE_MUTATIONS).toContain('http.apiToken');
  });

  it('compares tokens of different lengths without throwing', () => {
    expect(tokensMatch('short', TOKEN)).toBe(false);
    expect(tokensMatch(TOKEN, TOKEN)).toBe(true);
  });

  it('parses the bearer scheme only', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Bearer a b')).toBeNull();
    expect(bearerToken('Token abc')).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
  });
});

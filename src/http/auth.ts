/**
 * Bearer-token check for the mutating API calls. The token is compared in
 * constant time (digests of equal length, timingSafeEqual), and neither it
 * nor the header is ever logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type AuthOutcome =
  | { ok: true }
  | { ok: false; status: 401 | 403; message: string };

export const HOW_TO_ENABLE_MUTATIONS =
  'mutating API calls are disabled: set http.apiToken (16 or more characters) in the config, reload, and send "Authorization: Bearer <token>"';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function tokensMatch(given: string, configured: string): boolean {
  return timingSafeEqual(digest(given), digest(configured));
}

/** Parses `Authorization: Bearer <token>` (scheme case-insensitive, RFC 6750 §2.1); null when absent or another scheme. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match ? match[1]! : null;
}

/**
 * 401 when no credentials were sent (the client should send some); 403 when
 * they were sent but are wrong, or when no token is configured at all (no
 * credentials can help: the message says how to enable the calls).
 */
export function checkBearer(header: string | undefined, configuredToken: string | null): AuthOutcome {
  if (header === undefined || header === '') {
    return {
      ok: false,
      status: 401,
      message: configuredToken === null ? HOW_TO_ENABLE_MUTATIONS : 'this call needs the API token: send "Authorization: Bearer <http.apiToken>"',
    };
  }
  if (configuredToken === null) return { ok: false, status: 403, message: HOW_TO_ENABLE_MUTATIONS };
  const token = bearerToken(header);
  if (token === null) return { ok: false, status: 401, message: 'the Authorization header must be "Bearer <token>"' };
  if (!tokensMatch(token, configuredToken)) return { ok: false, status: 403, message: 'wrong API token' };
  return { ok: true };
}

/**
 * Turns the path part of a file URL (`/trees/<name>/<this>`, `/tftp/<this>`)
 * into a relative path that cannot climb out of its root, or says why not.
 * Pure, so every trick in the traversal table is tested without a socket.
 *
 * Refused (403): `..` and `.` segments (also spelled `%2e%2e`), encoded
 * slashes and backslashes (`%2f`, `%5c`: a decoder further down must never
 * see a separator the router did not), NUL, and dotfiles (`.git`, `.htpasswd`:
 * trees are often copied with their hidden files). A folder (empty path or
 * trailing slash) is 404: there are no directory listings.
 */

export type RequestPath =
  | { ok: true; path: string }
  | { ok: false; status: 400 | 403 | 404; code: RefusalCode; reason: string };

/** Stable names for metrics labels and events. */
export type RefusalCode = 'encoded-separator' | 'folder' | 'bad-encoding' | 'nul' | 'backslash' | 'traversal' | 'dotfile';

const ENCODED_SEPARATOR = /%(2f|5c)/i;

export function resolveRequestPath(rawPath: string): RequestPath {
  if (ENCODED_SEPARATOR.test(rawPath)) return { ok: false, status: 403, code: 'encoded-separator', reason: 'encoded slash or backslash in path' };
  if (rawPath === '' || rawPath.endsWith('/')) return { ok: false, status: 404, code: 'folder', reason: 'folder (no directory listings)' };
  const segments: string[] = [];
  for (const rawSegment of rawPath.split('/')) {
    if (rawSegment === '') continue; // `a//b` is `a/b`, as a file system reads it
    let segment: string;
    try {
      segment = decodeURIComponent(rawSegment);
    } catch {
      return { ok: false, status: 400, code: 'bad-encoding', reason: 'bad percent-encoding in path' };
    }
    if (segment.includes('\0')) return { ok: false, status: 403, code: 'nul', reason: 'NUL in path' };
    // A TFTP-minded client (or an attacker) may use Windows separators; a
    // backslash is never part of a file name we serve.
    if (segment.includes('\\')) return { ok: false, status: 403, code: 'backslash', reason: 'backslash in path' };
    if (segment === '..' || segment === '.') return { ok: false, status: 403, code: 'traversal', reason: 'path traversal (. or .. segment)' };
    if (segment.startsWith('.')) return { ok: false, status: 403, code: 'dotfile', reason: 'dotfile' };
    segments.push(segment);
  }
  if (segments.length === 0) return { ok: false, status: 404, code: 'folder', reason: 'folder (no directory listings)' };
  return { ok: true, path: segments.join('/') };
}

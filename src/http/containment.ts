/**
 * The realpath check @fastify/static does not do: it follows symlinks out of
 * its root (we had it serve /etc/passwd through a symlinked folder in an
 * installer tree). A file is served only when its real path, every symlink
 * resolved, is inside the real path of its root.
 */
import { realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export type Containment =
  /** `relativePath` is the resolved path relative to `realRoot`: serve that, not the path asked for. */
  | { kind: 'file'; realRoot: string; relativePath: string; size: number }
  | { kind: 'outside'; realPath: string }
  | { kind: 'missing' }
  | { kind: 'not-a-file' };

export function isInside(realRoot: string, realPath: string): boolean {
  return realPath === realRoot || realPath.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep);
}

/** `relativePath` must already have passed resolveRequestPath (no `..`). */
export async function containFile(root: string, relativePath: string): Promise<Containment> {
  let realRoot: string;
  let realPath: string;
  try {
    realRoot = await realpath(root);
    realPath = await realpath(join(realRoot, relativePath));
  } catch {
    return { kind: 'missing' };
  }
  if (!isInside(realRoot, realPath)) return { kind: 'outside', realPath };
  try {
    const info = await stat(realPath);
    if (!info.isFile()) return { kind: 'not-a-file' };
    return { kind: 'file', realRoot, relativePath: relative(realRoot, realPath).split(sep).join('/'), size: info.size };
  } catch {
    return { kind: 'missing' };
  }
}

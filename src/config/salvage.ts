/**
 * When the schema rejects a config, the cross-checks (duplicate MACs, pools
 * outside the subnet, unknown profiles, template variables) should still run
 * on what is valid, so the user sees every problem in one go rather than one
 * layer of mistakes per run.
 *
 * This drops what the schema rejected (unknown keys, invalid optional values,
 * whole host or relay entries that are invalid) until the schema accepts the
 * rest, and keeps a map from the surviving array indexes to the original ones
 * so cross-check messages still point at the right line.
 */
import type { z } from 'zod';
import { configSchema, type RawConfig } from './schema.js';

/** Arrays whose entries are dropped whole when one of their fields is invalid. */
const ENTRY_ARRAYS: readonly (readonly string[])[] = [['hosts'], ['dhcp', 'subnets']];

export interface Salvaged {
  raw: RawConfig;
  /** `hosts` / `dhcp.subnets` index in `raw` → index in the file. */
  indexMaps: Map<string, number[]>;
  /** Values dropped because the schema rejected them (paths in the file). */
  droppedValues: (string | number)[][];
}

type Path = (string | number)[];

const MAX_PASSES = 6;

function startsWith(path: readonly PropertyKey[], prefix: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((key, i) => path[i] === key);
}

function getAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function deleteAt(root: unknown, path: readonly PropertyKey[]): boolean {
  const parent = getAt(root, path.slice(0, -1));
  const key = path[path.length - 1];
  if (parent === null || typeof parent !== 'object' || key === undefined || !(key in parent)) return false;
  if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
  else delete (parent as Record<PropertyKey, unknown>)[key];
  return true;
}

/** A copy of the document's data with the schema's complaints removed, or null when what is left cannot be checked (server.address invalid). */
export function salvage(data: unknown): Salvaged | null {
  const working = structuredClone(data ?? {}) as Record<string, unknown>;
  if (working === null || typeof working !== 'object' || Array.isArray(working)) return null;
  const dropped = new Map<string, Set<number>>();
  const droppedValues: Path[] = [];

  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const view = withoutDroppedEntries(working, dropped);
    const parsed = configSchema.safeParse(view.data);
    if (parsed.success) return { raw: parsed.data, indexMaps: view.indexMaps, droppedValues };
    let changed = false;
    for (const issue of parsed.error.issues as z.core.$ZodIssue[]) {
      const path = toOriginal(issue.path as Path, view.indexMaps);
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) changed = deleteAt(working, [...path, key]) || changed;
        continue;
      }
      const entryArray = ENTRY_ARRAYS.find((prefix) => startsWith(path, prefix) && typeof path[prefix.length] === 'number');
      if (entryArray !== undefined) {
        const name = entryArray.join('.');
        const set = dropped.get(name) ?? new Set<number>();
        const index = path[entryArray.length] as number;
        if (!set.has(index)) {
          set.add(index);
          dropped.set(name, set);
          changed = true;
        }
        continue;
      }
      // A required value that is missing or wrong cannot be dropped; server.address is what every check builds on.
      if (path.length === 0 || (path[0] === 'server' && path[1] === 'address') || getAt(working, path) === undefined) return null;
      changed = deleteAt(working, path) || changed;
      droppedValues.push(path);
    }
    if (!changed) return null;
  }
  return null;
}

/** The data with dropped host/relay entries removed, and the index maps for what stays. */
function withoutDroppedEntries(data: Record<string, unknown>, dropped: Map<string, Set<number>>): { data: unknown; indexMaps: Map<string, number[]> } {
  const copy = structuredClone(data);
  const indexMaps = new Map<string, number[]>();
  for (const prefix of ENTRY_ARRAYS) {
    const name = prefix.join('.');
    const array = getAt(copy, prefix);
    if (!Array.isArray(array)) continue;
    const skip = dropped.get(name) ?? new Set<number>();
    const kept: number[] = [];
    const entries: unknown[] = [];
    array.forEach((entry, index) => {
      if (!skip.has(index)) {
        kept.push(index);
        entries.push(entry);
      }
    });
    const parent = getAt(copy, prefix.slice(0, -1)) as Record<string, unknown>;
    parent[prefix[prefix.length - 1]!] = entries;
    indexMaps.set(name, kept);
  }
  return { data: copy, indexMaps };
}

/** A path in the salvaged data → the same place in the file. */
export function toOriginal(path: Path, indexMaps: Map<string, number[]>): Path {
  for (const prefix of ENTRY_ARRAYS) {
    const map = indexMaps.get(prefix.join('.'));
    const index = path[prefix.length];
    if (map !== undefined && startsWith(path, prefix) && typeof index === 'number' && map[index] !== undefined) {
      return [...prefix, map[index]!, ...path.slice(prefix.length + 1)];
    }
  }
  return path;
}

/** `hosts[3]` inside a message → the original index. */
export function messageToOriginal(message: string, indexMaps: Map<string, number[]>): string {
  return message.replace(/\b(hosts|dhcp\.subnets)\[(\d+)\]/g, (whole, name: string, index: string) => {
    const original = indexMaps.get(name)?.[Number(index)];
    return original === undefined ? whole : `${name}[${original}]`;
  });
}

/**
 * Whether a cross-check issue could be an echo of a dropped value: it is about
 * the dropped value itself or a sibling of it (a dropped subnet makes the pool
 * look orphaned). Such issues are not shown; the schema error is.
 */
export function echoesDroppedValue(path: readonly PropertyKey[], droppedValues: readonly (readonly PropertyKey[])[]): boolean {
  return droppedValues.some((dropped) => {
    const parent = dropped.length > 1 ? dropped.slice(0, -1) : dropped;
    if (startsWith(path, parent)) return true;
    return DEPENDENTS.some((rule) => startsWith(dropped, rule.dropped) && rule.echoes.some((pattern) => matches(path, pattern)));
  });
}

/** Checks elsewhere in the file that read a value: dropping it makes them report nonsense. `*` matches any key or index. */
const DEPENDENTS: readonly { dropped: readonly string[]; echoes: readonly (readonly string[])[] }[] = [
  // Reservations are checked against the subnets.
  { dropped: ['dhcp'], echoes: [['hosts', '*', 'ip']] },
  // Templates name trees; profile files are looked up in the TFTP root.
  { dropped: ['http', 'trees'], echoes: [['profiles']] },
  { dropped: ['tftp', 'root'], echoes: [['profiles']] },
];

function matches(path: readonly PropertyKey[], pattern: readonly string[]): boolean {
  return pattern.length <= path.length && pattern.every((key, i) => key === '*' || path[i] === key);
}

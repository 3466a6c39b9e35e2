/**
 * The keys the schema allows at a place in the config, read from the zod
 * schema itself so "did you mean" never drifts from what is accepted.
 */
import { configSchema } from './schema.js';

interface Def {
  type: string;
  innerType?: { _zod: { def: Def } };
  shape?: Record<string, { _zod: { def: Def } }>;
  valueType?: { _zod: { def: Def } };
  element?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
  in?: { _zod: { def: Def } };
}

const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;

/** Unwraps optional/default/prefault/pipe; for a union, the first object-like option. */
function unwrap(def: Def): Def {
  let current = def;
  for (let i = 0; i < 10; i++) {
    if (current.innerType) current = current.innerType._zod.def;
    else if (current.type === 'pipe' && current.in) current = current.in._zod.def;
    else if (current.type === 'union' && current.options) {
      const objectLike = current.options.map((option) => unwrap(option._zod.def)).find((option) => option.type === 'object' || option.type === 'array' || option.type === 'record');
      return objectLike ?? current;
    } else return current;
  }
  return current;
}

function child(def: Def, key: PropertyKey): Def | null {
  const node = unwrap(def);
  if (node.type === 'object' && node.shape && typeof key === 'string') return node.shape[key] ? node.shape[key]._zod.def : null;
  if (node.type === 'record' && node.valueType) return node.valueType._zod.def;
  if (node.type === 'array' && node.element) return node.element._zod.def;
  return null;
}

/** Keys of the object at `path` (record and array steps are followed by their value type). */
export function keysAt(path: readonly PropertyKey[]): string[] {
  let def: Def | null = defOf(configSchema);
  for (const key of path) {
    def = def === null ? null : child(def, key);
    if (def === null) return [];
  }
  const node = unwrap(def!);
  return node.type === 'object' && node.shape ? Object.keys(node.shape) : [];
}

/** Top-level sections that have `key` directly in them (for a key put in the wrong section). */
export function sectionsWithKey(key: string): string[] {
  return keysAt([]).filter((section) => keysAt([section]).includes(key));
}

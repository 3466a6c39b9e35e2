/**
 * Finds where in the YAML text a config path is, so every error can say
 * file:line:col. Works on the yaml package's Document, whose nodes keep their
 * source ranges.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export interface Place {
  line: number;
  col: number;
}

/**
 * The place of the node at `path`; when the path does not exist (a missing
 * required key), the place of the deepest parent that does. With `atKey`, the
 * place of the key itself rather than its value (for unknown keys).
 */
export function locate(document: Document, lineCounter: LineCounter, path: readonly PropertyKey[], atKey = false): Place {
  let node: unknown = document.contents;
  let place = rangeStart(node, lineCounter) ?? { line: 1, col: 1 };
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(key));
      if (!pair) return place;
      const last = i === path.length - 1;
      if (last && atKey) return rangeStart(pair.key, lineCounter) ?? place;
      node = pair.value;
      place = rangeStart(node, lineCounter) ?? rangeStart(pair.key, lineCounter) ?? place;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (item === undefined) return place;
      node = item;
      place = rangeStart(node, lineCounter) ?? place;
    } else {
      return place;
    }
  }
  return place;
}

function rangeStart(node: unknown, lineCounter: LineCounter): Place | null {
  const range = (node as Node | null | undefined)?.range;
  if (!range) return null;
  const { line, col } = lineCounter.linePos(range[0]);
  return { line, col };
}

/**
 * Sub-option lists inside an option (43 PXE, 82 relay agent): code, length,
 * data, repeated. Shared by pxe-vendor.ts and relay-agent.ts.
 */
import { EncodeError } from './errors.js';

/** Sub-options in order, or null when a length runs past the end (the caller keeps the raw bytes). */
export function readSubOptions(data: Buffer, options: { padAndEnd: boolean }): [number, Buffer][] | null {
  const entries: [number, Buffer][] = [];
  let position = 0;
  while (position < data.length) {
    const code = data[position]!;
    if (options.padAndEnd && code === 0) { position += 1; continue; }
    if (options.padAndEnd && code === 255) break;
    if (position + 1 >= data.length) return null;
    const length = data[position + 1]!;
    if (position + 2 + length > data.length) return null;
    entries.push([code, Buffer.from(data.subarray(position + 2, position + 2 + length))]);
    position += 2 + length;
  }
  return entries;
}

export function writeSubOptions(entries: Iterable<[number, Buffer]>, options: { end: boolean }): Buffer {
  const parts: Buffer[] = [];
  for (const [code, value] of entries) {
    if (value.length > 255) throw new EncodeError(`sub-option ${code} is ${value.length} bytes; at most 255 fit`);
    parts.push(Buffer.from([code, value.length]), value);
  }
  if (options.end) parts.push(Buffer.from([255]));
  return Buffer.concat(parts);
}

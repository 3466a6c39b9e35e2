/**
 * MAC addresses. Users write them with ':' or '-', upper or lower case; inside
 * netboot one spelling is used everywhere: lower-case, colon-separated.
 */

const MAC_PATTERN = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i;
const BARE_MAC_PATTERN = /^[0-9a-f]{12}$/i;

/** Normalises `52-54-00-AB-CD-EF`, `52:54:00:ab:cd:ef` or `525400abcdef` to `52:54:00:ab:cd:ef`; null if it is not a MAC. */
export function parseMac(text: string): string | null {
  const trimmed = text.trim();
  if (BARE_MAC_PATTERN.test(trimmed)) {
    return trimmed.toLowerCase().match(/../g)!.join(':');
  }
  const match = MAC_PATTERN.exec(trimmed);
  if (!match) return null;
  // Mixed separators ("52:54-00...") are a typo, not a MAC.
  const separators = new Set(trimmed.replace(/[0-9a-f]/gi, ''));
  if (separators.size !== 1) return null;
  return match.slice(1).join(':').toLowerCase();
}

/** The 6 bytes of a normalised MAC. */
export function macToBytes(mac: string): Buffer {
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}

/** Two-digit lower-case hex of every byte value (the DHCP service formats a MAC for every packet). */
const HEX = Array.from({ length: 256 }, (_, value) => value.toString(16).padStart(2, '0'));

/** `52:54:00:ab:cd:ef` from the first 6 bytes of a chaddr field (missing bytes read as 00). */
export function macFromBytes(bytes: Uint8Array): string {
  const b = (i: number): string => HEX[bytes[i] ?? 0]!;
  return `${b(0)}:${b(1)}:${b(2)}:${b(3)}:${b(4)}:${b(5)}`;
}

/** `52-54-00-ab-cd-ef`, the spelling pxelinux uses in `pxelinux.cfg/01-<mac>`. */
export function macWithDashes(mac: string): string {
  return mac.replace(/:/g, '-');
}

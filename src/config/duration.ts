/** Durations as users write them: `90s`, `30m`, `1h`, `7d`, or a bare number of seconds. */
const DURATION_PATTERN = /^(\d+)\s*(s|m|h|d)?$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds, or null when the text is not a duration. */
export function parseDurationS(text: string | number): number | null {
  if (typeof text === 'number') return Number.isInteger(text) && text >= 0 ? text : null;
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return null;
  return Number(match[1]) * UNIT_SECONDS[match[2] ?? 's']!;
}

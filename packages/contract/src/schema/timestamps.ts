/**
 * Checks of calendar dates and of the canonical timestamp `YYYY-MM-DDTHH:MM:SS.sssZ` (what
 * `Date#toISOString` and most producers emit) by character arithmetic: no regular expression
 * captures, no `Date`. Shared by the ingest's JSON Schema `date-time` format and the
 * transformer's timestamp casts, where they are the fast path in front of the general parsers.
 */

/** Days in month `m` (1-12) of year `y`, Gregorian. */
export function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/**
 * Whether the `YYYY-MM-DD` at the start of `s` (digits already checked) names a real day: Date
 * would roll Feb 30 over to March. Year 0 does not exist (PostgreSQL refuses it too).
 */
export function validDate(s: string): boolean {
  const digit = (i: number): number => s.charCodeAt(i) - 48;
  const y = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3);
  const m = digit(5) * 10 + digit(6);
  const d = digit(8) * 10 + digit(9);
  return y > 0 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

const CANONICAL_TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Whether `v` is a real instant written canonically: `YYYY-MM-DDTHH:MM:SS.sssZ`, a day that
 * exists, hours 0-23, minutes and seconds 0-59. False says nothing about other spellings (an
 * offset, no fraction, a leap second), which the general parsers decide.
 */
export function isCanonicalTimestamp(v: unknown): v is string {
  if (typeof v !== 'string' || v.length !== 24 || !CANONICAL_TS_RE.test(v)) return false;
  const h = (v.charCodeAt(11) - 48) * 10 + (v.charCodeAt(12) - 48);
  const mi = (v.charCodeAt(14) - 48) * 10 + (v.charCodeAt(15) - 48);
  const sec = (v.charCodeAt(17) - 48) * 10 + (v.charCodeAt(18) - 48);
  return h < 24 && mi < 60 && sec < 60 && validDate(v);
}

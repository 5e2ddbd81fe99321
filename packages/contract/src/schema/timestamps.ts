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

// ISO 8601 / RFC 3339: date, optional time (T or space), optional fraction, optional zone.
const TS_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses an ISO 8601 timestamp strictly (Date's own parser accepts "Tuesday 3"). A value without
 * a zone is read as UTC, never as the process's local time, so results do not depend on TZ.
 * Returns epoch milliseconds and the microseconds within that millisecond (0-999): PostgreSQL's
 * `timestamptz` keeps microseconds, so they travel too (digits past the sixth are rounded, as
 * PostgreSQL rounds them).
 */
export function parseIsoTimestamp(s: string): { ms: number; micros: number } | undefined {
  const m = TS_RE.exec(s.length === 24 ? s : s.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m;
  if (!validDate(`${y}-${mo}-${d}`) || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return undefined;
  const fracMicros = Math.round(Number(frac.padEnd(7, '0').slice(0, 7)) / 10);
  // Date.UTC reads years 0-99 as 1900-1999: those are computed 400 years (146,097 days, a whole
  // Gregorian cycle) later and moved back.
  const year = Number(y);
  const cycle = year < 100 ? 146_097 * 86_400_000 : 0;
  let ms =
    Date.UTC(year + (cycle ? 400 : 0), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec)) -
    cycle +
    Math.floor(fracMicros / 1000);
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offset = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4));
    if (Number(digits.slice(0, 2)) > 23 || Number(digits.slice(2, 4)) > 59) return undefined;
    ms -= sign * offset * 60_000;
  }
  return { ms, micros: fracMicros % 1000 };
}

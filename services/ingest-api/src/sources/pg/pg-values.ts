/**
 * Turns PostgreSQL text values into JSON-friendly record values, the same way for snapshot reads,
 * polling queries and replicated tuples. pg's default parsers make `Date`s in the process's local
 * time zone for `date` and `timestamp` and leave `int8`/`numeric` as strings; records want ISO
 * strings that do not depend on TZ and numbers where a number is exact (text otherwise).
 */
import { exactNumber } from '@tributary/contract/schema';
import { types } from 'pg';

/** Type OIDs handled here (pg_type.oid of the built-in types). */
const OID = {
  bool: 16,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  jsonb: 3802,
} as const;

const TS_RE = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2}(?::?\d{2}){0,2})?$/;

/**
 * `2024-01-02 03:04:05.123456+00` (PostgreSQL's ISO output) to RFC 3339:
 * `2024-01-02T03:04:05.123456Z`. Microseconds are kept; a zone-less `timestamp` stays zone-less
 * (read as UTC downstream). `infinity` and BC dates are returned unchanged.
 */
export function isoTimestamp(text: string): string {
  const m = TS_RE.exec(text);
  if (!m) return text;
  const [, date, time, zone] = m;
  if (!zone) return `${date}T${time}`;
  const z = zone.length === 3 ? `${zone}:00` : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  return `${date}T${time}${z === '+00:00' || z === '-00:00' ? 'Z' : z}`;
}

/** A number when it converts exactly enough (finite; integers within 2^53), else the text. */
function toNumber(text: string, integer: boolean): number | string {
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  return integer && !Number.isSafeInteger(n) ? text : n;
}

/** Converts one value in PostgreSQL's text format, of type `oid`, to a record value. */
export function parseValue(oid: number, text: string): unknown {
  switch (oid) {
    case OID.bool:
      return text === 't' || text === 'true';
    case OID.int2:
    case OID.int4:
    case OID.oid:
    case OID.int8:
      return toNumber(text, true);
    case OID.float4:
    case OID.float8:
      return toNumber(text, false);
    case OID.numeric:
      // A number only where the double holds the exact value; otherwise the text, so a `decimal`
      // field gets every digit (NaN and infinities stay text and are refused there by name).
      return exactNumber(text);
    case OID.json:
    case OID.jsonb:
      return JSON.parse(text);
    case OID.timestamp:
    case OID.timestamptz:
      return isoTimestamp(text);
    case OID.date:
    case OID.time:
      return text;
    default: {
      // Arrays and the rest: pg's parser where it has one, the text otherwise (uuid, text, ...).
      const parse = types.getTypeParser(oid, 'text') as (v: string) => unknown;
      const v = parse(text);
      return v instanceof Date ? v.toISOString() : v;
    }
  }
}

/** `types` option of a pg Client, so query results use `parseValue` too. */
export const recordTypes = {
  getTypeParser: (oid: number, format?: string) =>
    format === 'binary' ? types.getTypeParser(oid, 'binary') : (text: string) => parseValue(oid, text),
} as unknown as import('pg').CustomTypesConfig;

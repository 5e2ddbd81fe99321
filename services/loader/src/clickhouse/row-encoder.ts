/**
 * Encodes records as ClickHouse `JSONEachRow` lines for a store table (clickhouse-layout.ts in
 * core), checking every value against its column first. ClickHouse 18.16 refuses a whole INSERT
 * on one bad value and stores some out-of-range values silently wrong (a time before 1970 or after
 * 2105, an integer beyond Int64), so a value that does not fit is the record's fault, found here
 * with its field: the record is dead-lettered and its neighbours load.
 *
 * Times go as epoch seconds (fractions are dropped: 18.16 has no DateTime64), booleans as 0/1,
 * JSON as its text, decimals as their exact digits; every other value as JSON. Names go as JSON keys, so no field name or value
 * ever reaches SQL text.
 */
import { decimalText } from '@tributary/contract/schema';
import { sourceTimeMs } from '@tributary/contract/wire';
import { TributaryError } from '@tributary/contract/errors';
import { type FieldDef } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';

/** A number written into the JSON line as these exact digits (a decimal never becomes a double). */
class Digits {
  constructor(readonly text: string) {}
}

/** Smallest and largest DateTime/Date ClickHouse 18.16 stores faithfully (UTC). */
const MIN_TIME_MS = 0;
const MAX_TIME_MS = Date.UTC(2105, 11, 31, 23, 59, 59);
const INT64_LIMIT = 2n ** 63n;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
/** A UTF-16 surrogate without its other half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The string with lone surrogates replaced by U+FFFD, as the UTF-8 encoding of the PostgreSQL path
 * does: JSON would carry them as `\udXXX` escapes, which ClickHouse refuses (not UTF-8).
 */
function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

/** The value to send for `v` in the field's column; throws TRIB_E_LOAD_REJECTED when it cannot be stored. */
function encodeValue(f: FieldDef, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  const bad = (what: string): never => {
    const shown = JSON.stringify(v) ?? String(v);
    throw new TributaryError(
      'TRIB_E_LOAD_REJECTED',
      `field "${f.name}": ${shown.length > 60 ? `${shown.slice(0, 60)}...` : shown} ${what}`,
      { location: { field: f.name } },
    );
  };
  switch (f.type) {
    case 'string':
      if (typeof v === 'string') return wellFormed(v);
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      return bad('is not a string');
    case 'integer': {
      const n =
        typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : undefined;
      if (n === undefined) return bad('is not an integer');
      if (n >= INT64_LIMIT || n < -INT64_LIMIT) return bad('is out of the Int64 range');
      // Exact digits: JSON.stringify would write 1e+21 for large numbers, which Int64 does not parse.
      return n;
    }
    case 'number': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      return Number.isFinite(n) ? n : bad('is not a finite number');
    }
    case 'decimal': {
      const text = decimalText(v, f.precision, f.scale);
      return text instanceof Error ? bad(text.message) : new Digits(text);
    }
    case 'boolean':
      if (typeof v === 'boolean') return v ? 1 : 0;
      return bad('is not a boolean');
    case 'timestamp': {
      const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN;
      if (!Number.isFinite(ms)) return bad('is not a timestamp');
      if (ms < MIN_TIME_MS || ms > MAX_TIME_MS) return bad('is outside 1970-01-01..2105-12-31, the range of a ClickHouse DateTime');
      return Math.floor(ms / 1000);
    }
    case 'date': {
      if (typeof v !== 'string' || !DATE_RE.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) return bad('is not a date (YYYY-MM-DD)');
      const ms = Date.parse(`${v}T00:00:00Z`);
      if (ms < MIN_TIME_MS || ms > MAX_TIME_MS) return bad('is outside 1970-01-01..2105-12-31, the range of a ClickHouse Date');
      return v;
    }
    case 'json':
      return JSON.stringify(v);
  }
}

/** Where a record came from: its message, its index there, the message's ingest time (ms). */
export interface RowOrigin {
  msgId: string;
  index: number;
  ingestedAt: number;
  /** The message's source time (canonical), when it has one. */
  sourceTime?: string;
}

/**
 * One JSONEachRow line (newline included) for `rec`, with the store's bookkeeping columns.
 * Throws TRIB_E_LOAD_REJECTED naming the field when a value does not fit its column.
 */
export function encodeRow(fields: readonly FieldDef[], rec: Rec, origin: RowOrigin): string {
  const parts: string[] = [];
  for (const f of fields) {
    const v = encodeValue(f, rec[f.name]);
    const text = typeof v === 'bigint' ? v.toString() : v instanceof Digits ? v.text : JSON.stringify(v);
    parts.push(`${JSON.stringify(f.name)}:${text}`);
  }
  parts.push(
    `"_msg_id":${JSON.stringify(wellFormed(origin.msgId))}`,
    `"_record":${origin.index}`,
    `"_ingested_at":${Math.max(0, Math.floor(origin.ingestedAt / 1000))}`,
    // Whole seconds, cut down: the column is DateTime (18.16 has no DateTime64).
    `"_source_time":${origin.sourceTime ? Math.max(0, Math.floor(sourceTimeMs(origin.sourceTime) / 1000)) : 'null'}`,
  );
  return `{${parts.join(',')}}\n`;
}

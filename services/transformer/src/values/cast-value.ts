/**
 * Converts a value to a dataset field type, or throws TRIB_E_VALIDATION naming the field.
 * Shared by the `cast` step and the projection onto a dataset's declared fields.
 */
import { decimalText, int64Value, isCanonicalTimestamp, parseIsoTimestamp, validDate } from '@tributary/contract/schema';
import { TributaryError } from '@tributary/contract/errors';
import { type FieldDef, type FieldType } from '@tributary/contract/spec';

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** RFC 3339 in UTC: milliseconds as Date prints them, six digits when there are microseconds. */
function isoMicros(t: { ms: number; micros: number }): string {
  const iso = new Date(t.ms).toISOString();
  return t.micros === 0 ? iso : `${iso.slice(0, -1)}${String(t.micros).padStart(3, '0')}Z`;
}
const NUM_RE = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

const UTC_TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z$/;

/**
 * The canonical form of a UTC timestamp with at most six fraction digits, as `isoMicros` writes
 * it (three digits when the microseconds are zero, six otherwise), or undefined for any other
 * spelling. PostgreSQL's `timestamptz` text in UTC (the CDC snapshot's, `...12.34567Z`) is of
 * this form: rewriting its digits is exact and costs no `Date` and no parse of the fields (that
 * was 6% of the transformer's CDC snapshot profile). A property test checks it against the
 * general path.
 */
export function canonicalUtcTimestamp(v: string): string | undefined {
  if (v.length < 20 || v.length > 27 || !UTC_TS_RE.test(v)) return undefined;
  const h = (v.charCodeAt(11) - 48) * 10 + (v.charCodeAt(12) - 48);
  const mi = (v.charCodeAt(14) - 48) * 10 + (v.charCodeAt(15) - 48);
  const sec = (v.charCodeAt(17) - 48) * 10 + (v.charCodeAt(18) - 48);
  if (h > 23 || mi > 59 || sec > 59 || !validDate(v)) return undefined;
  const frac = v.length === 20 ? '000000' : v.slice(20, -1).padEnd(6, '0');
  return `${v.slice(0, 19)}.${frac.endsWith('000') ? frac.slice(0, 3) : frac}Z`;
}

/** A timestamp written any way `parseIsoTimestamp` reads (or epoch milliseconds) in canonical form; undefined when it is none. */
export function generalTimestamp(value: unknown): string | undefined {
  const t =
    typeof value === 'number' && Number.isFinite(value)
      ? { ms: value, micros: 0 }
      : typeof value === 'string'
        ? parseIsoTimestamp(value)
        : undefined;
  return t === undefined || !Number.isFinite(t.ms) ? undefined : isoMicros(t);
}

function fail(field: string, type: FieldType, value: unknown, reason?: string): never {
  const shown = JSON.stringify(value);
  throw new TributaryError(
    'TRIB_E_VALIDATION',
    `field "${field}": ${shown && shown.length > 60 ? `${shown.slice(0, 60)}...` : shown} ${reason ?? `is not a valid ${type}`}`,
    {
      location: { field },
    },
  );
}

/**
 * Converts `value` to `type`; null and undefined stay null. `def` gives a decimal's precision and
 * scale (without it a decimal keeps its own digits). Integers beyond 2^53 and decimals come out as
 * exact text, never through a double.
 */
export function castValue(field: string, type: FieldType, value: unknown, def?: Pick<FieldDef, 'precision' | 'scale'>): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      return fail(field, type, value);
    case 'integer': {
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      const v = int64Value(value);
      return v === undefined ? fail(field, type, value, 'is not a 64-bit integer') : v;
    }
    case 'decimal': {
      const v = decimalText(value, def?.precision, def?.scale);
      const shape = def?.scale === undefined ? '' : `(${def.precision},${def.scale})`;
      return v instanceof Error ? fail(field, type, value, `is not a valid decimal${shape}: it ${v.message}`) : v;
    }
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (typeof value === 'string' && NUM_RE.test(value.trim())) return Number(value);
      return fail(field, type, value);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      if (value === 0 || value === 1) return value === 1;
      return fail(field, type, value);
    case 'timestamp': {
      // Fast path: already canonical (what Date#toISOString and most producers emit).
      if (isCanonicalTimestamp(value)) return value;
      const ts = (typeof value === 'string' ? canonicalUtcTimestamp(value) : undefined) ?? generalTimestamp(value);
      return ts ?? fail(field, type, value);
    }
    case 'date': {
      if (typeof value === 'string' && DATE_RE.test(value)) return validDate(value) ? value : fail(field, type, value);
      const ms =
        typeof value === 'number' && Number.isFinite(value) ? value : typeof value === 'string' ? parseIsoTimestamp(value)?.ms : undefined;
      if (ms === undefined) return fail(field, type, value);
      return new Date(ms).toISOString().slice(0, 10);
    }
    case 'json':
      return value;
  }
}

/**
 * Source time (docs/design.md, Wire contract, "Source time"): the time a record had at its
 * source (a CDC commit, a REST record's configured field, a file's modification time), carried in
 * header `Trib-Source-Time` as the oldest source time of the message's records. Written canonically
 * as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, always six fraction digits), so two source times compare
 * as strings and PostgreSQL's `timestamptz` stores them exactly.
 */
import type { MsgHdrs } from '@nats-io/nats-core';
import { TributaryError } from '../errors';
import { isCanonicalTimestamp, parseIsoTimestamp } from '../schema/timestamps';
import { H, header } from './headers';

const CANONICAL_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

const YEAR_MIN_MS = Date.UTC(1, 0, 1);
const YEAR_MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function canonical(ms: number, micros: number): string | undefined {
  if (!Number.isFinite(ms) || ms < YEAR_MIN_MS || ms > YEAR_MAX_MS) return undefined;
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

/**
 * The canonical source time of `value`: an ISO 8601 / RFC 3339 string (any offset, up to nine
 * fraction digits, rounded to microseconds as PostgreSQL rounds them; no zone means UTC) or a
 * Date. Undefined for anything else (numbers are refused: seconds or milliseconds is a guess).
 */
export function toSourceTime(value: unknown): string | undefined {
  if (value instanceof Date) return canonical(value.getTime(), 0);
  if (typeof value !== 'string') return undefined;
  // Fast path: canonical already (a CDC commit time).
  if (value.length === 27 && CANONICAL_RE.test(value) && isCanonicalTimestamp(`${value.slice(0, 23)}Z`)) return value;
  const t = parseIsoTimestamp(value);
  return t ? canonical(t.ms, t.micros) : undefined;
}

/** The source time of microseconds since the Unix epoch (PostgreSQL's commit times). */
export function sourceTimeFromMicros(us: bigint): string {
  const ms = us / 1000n - (us % 1000n < 0n ? 1n : 0n);
  return canonical(Number(ms), Number(us - ms * 1000n))!;
}

/** The source time of (fractional) milliseconds since the Unix epoch, as `fs.Stats#mtimeMs` gives them. */
export function sourceTimeFromMs(ms: number): string {
  return sourceTimeFromMicros(BigInt(Math.round(ms * 1000)));
}

/** The oldest of the given source times (undefined ones ignored), or undefined when none is given. */
export function oldestSourceTime(...times: (string | undefined)[]): string | undefined {
  let oldest: string | undefined;
  for (const t of times) if (t !== undefined && (oldest === undefined || t < oldest)) oldest = t;
  return oldest;
}

/** Milliseconds since the Unix epoch of a canonical source time (the microseconds cut). */
export function sourceTimeMs(t: string): number {
  return Date.parse(t);
}

/**
 * The `Trib-Source-Time` of a message, canonical, or undefined when it has none. A value that is
 * not a timestamp throws TRIB_E_PARSE naming the header: the message is refused, never loaded with
 * its source time dropped or guessed.
 */
export function sourceTimeHeader(h: MsgHdrs | undefined): string | undefined {
  const v = header(h, H.sourceTime);
  if (v === undefined) return undefined;
  const t = toSourceTime(v);
  if (t === undefined) throw new TributaryError('TRIB_E_PARSE', `header ${H.sourceTime}: "${v.slice(0, 60)}" is not an RFC 3339 timestamp`);
  return t;
}

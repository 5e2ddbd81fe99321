/**
 * Exact values on the wire. A record travels as JSON, and a JavaScript number is a double: a
 * decimal with more than 15 significant digits, or an integer beyond 2^53, would lose digits in
 * `JSON.parse`. The rule everywhere (JSON bodies, NDJSON messages, CSV cells, PostgreSQL values):
 * a number stays a number when the double holds exactly the value written, and becomes its exact
 * text otherwise. `decimal` and `integer` fields accept that text, so no digit is lost or changed.
 */
import Big from 'big.js';
import { parse as parseLossless } from 'lossless-json';

// Numbers of at most 15 significant digits and a small exponent always survive a double, so text
// without a longer run of number characters (or a 3-digit exponent) takes the fast JSON.parse.
const LONG_NUMBER_RE = /[0-9][0-9.eE+-]{15}|[eE][+-]?[0-9]{3}/;

/** Whether `text` (a JSON number or decimal text) reads into a double without losing anything. */
export function isExactDouble(text: string): boolean {
  const n = Number(text);
  if (!Number.isFinite(n)) return false;
  if (!LONG_NUMBER_RE.test(text)) return true;
  try {
    return new Big(text).eq(new Big(String(n)));
  } catch {
    return false;
  }
}

/** A number when the double is exact, else the text itself (trimmed). */
export function exactNumber(text: string): number | string {
  const t = text.trim();
  return isExactDouble(t) ? Number(t) : t;
}

/** `JSON.parse` whose numbers that a double cannot hold exactly come back as their text. */
export function parseJsonExact(text: string): unknown {
  if (!LONG_NUMBER_RE.test(text)) return JSON.parse(text);
  try {
    return parseLossless(text, null, exactNumber);
  } catch (err) {
    // Bad JSON: throw JSON.parse's own error, the one callers already report.
    JSON.parse(text);
    throw err;
  }
}

const DECIMAL_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * The canonical text of a decimal value with `scale` digits after the point (zeros added), or an
 * Error saying why it does not fit: not a number, more non-zero digits after the point than
 * `scale` (never rounded), or more digits before the point than `precision - scale`. Without a
 * scale the value's own digits are kept.
 */
export function decimalText(value: unknown, precision?: number, scale?: number): string | Error {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : typeof value === 'string' ? value.trim() : '';
  if (!DECIMAL_RE.test(text)) return new Error('is not a decimal number');
  const b = new Big(text);
  if (scale === undefined) return b.toFixed();
  if (!b.round(scale, Big.roundDown).eq(b)) return new Error(`has more than ${scale} digits after the point`);
  const out = b.toFixed(scale);
  if (precision !== undefined) {
    const intDigits = out.replace(/^-/, '').split('.')[0]!.replace(/^0+/, '').length;
    if (intDigits > precision - scale)
      return new Error(`has more than ${precision - scale} digits before the point (decimal(${precision},${scale}))`);
  }
  return out;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * A 64-bit integer: a number when it is safe (within 2^53), its canonical decimal text beyond
 * that, or undefined when `value` is no integer or out of the int64 range. A number beyond 2^53
 * is taken as the exact double it is (exact parsing already turned inexact ones into text).
 */
export function int64Value(value: unknown): number | string | undefined {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return value;
    if (!Number.isInteger(value)) return undefined;
    const b = BigInt(value);
    return b <= INT64_MAX && b >= INT64_MIN ? b.toString() : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const t = value.trim();
  if (!/^[+-]?\d+$/.test(t)) return undefined;
  const n = Number(t);
  if (Number.isSafeInteger(n)) return n;
  const b = BigInt(t);
  return b <= INT64_MAX && b >= INT64_MIN ? b.toString() : undefined;
}

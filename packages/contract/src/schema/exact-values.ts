/**
 * Exact values on the wire. A record travels as JSON, and a JavaScript number is a double: a
 * decimal with more than 15 significant digits, or an integer beyond 2^53, would lose digits in
 * `JSON.parse`. The rule everywhere (JSON bodies, NDJSON messages, CSV cells, PostgreSQL values):
 * a number stays a number when the double holds exactly the value written, and becomes its exact
 * text otherwise. `decimal` and `integer` fields accept that text, so no digit is lost or changed.
 */
import Big from 'big.js';
import { parse as parseLossless } from 'lossless-json';

// Numbers of at most 15 significant digits and a small exponent always survive a double, so a
// number without a longer run of number characters (or a 3-digit exponent) needs no exact check.
const LONG_NUMBER_RE = /[0-9][0-9.eE+-]{15}|[eE][+-]?[0-9]{3}/;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isNumberChar = (c: number): boolean => isDigit(c) || c === 46 || c === 43 || c === 45 || c === 101 || c === 69; // . + - e E

/**
 * Whether `text[from, to)`, JSON outside any string, holds a number a double may not hold: a long
 * number (what LONG_NUMBER_RE says of a number's text) that is not the double's own shortest text.
 * A double printed by JavaScript or PostgreSQL (`0.12345678901234568`, a model's score, a float8
 * column) has up to 17 digits, and reads back into the same double: `isExactDouble` would keep it
 * as that number, so the plain JSON.parse gives the same value and the slow parse is not needed.
 */
function longNumberIn(text: string, from: number, to: number): boolean {
  let k = from;
  while (k < to) {
    const c = text.charCodeAt(k);
    // A number token starts at a digit or a minus sign (`true`/`false` hold an `e` but no digit).
    if (!isDigit(c) && c !== 45) {
      k++;
      continue;
    }
    const start = k;
    while (k < to && isNumberChar(text.charCodeAt(k))) k++;
    if (k - start < 16 && !hasLongExponent(text, start, k)) continue;
    const token = text.slice(start, k);
    if (LONG_NUMBER_RE.test(token) && String(Number(token)) !== token) return true;
  }
  return false;
}

/** Whether `text[from, to)` holds an exponent of three digits or more (`1e300`, `2E-400`). */
function hasLongExponent(text: string, from: number, to: number): boolean {
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c !== 101 && c !== 69) continue;
    let m = k + 1;
    const sign = text.charCodeAt(m);
    if (sign === 43 || sign === 45) m++;
    return m + 2 < to && isDigit(text.charCodeAt(m)) && isDigit(text.charCodeAt(m + 1)) && isDigit(text.charCodeAt(m + 2));
  }
  return false;
}

/**
 * Whether a number of JSON `text` may not survive a double: a long number (LONG_NUMBER_RE)
 * outside its strings that is not a double's own shortest text. Strings are skipped, so long
 * digit runs inside them (IDs carrying an epoch time, phone numbers, UUIDs) keep the fast JSON.parse: testing the regular expression on the
 * whole text sent such records to the full lossless parse, six times slower. Hand-written because
 * a regular expression cannot tell a string from a number, and a tokenizer library is the slow
 * parse itself; strings are skipped with `indexOf`, so only the text between them is walked.
 * Exact for valid JSON (a property test compares it with the numbers lossless-json reads); on
 * invalid JSON either answer is safe, both parses throw.
 */
export function hasLongNumber(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const quote = text.indexOf('"', i);
    if (longNumberIn(text, i, quote < 0 ? n : quote)) return true;
    if (quote < 0) return false;
    // The closing quote: the next one not escaped (preceded by an even number of backslashes).
    let j = quote + 1;
    for (;;) {
      j = text.indexOf('"', j);
      if (j < 0) return false;
      let b = j - 1;
      while (text.charCodeAt(b) === 92 /* \\ */) b--;
      if ((j - 1 - b) % 2 === 0) break;
      j++;
    }
    i = j + 1;
  }
  return false;
}

/** Whether `text` (a JSON number or decimal text) reads into a double without losing anything. */
export function isExactDouble(text: string): boolean {
  const n = Number(text);
  if (!Number.isFinite(n)) return false;
  if (!LONG_NUMBER_RE.test(text) || String(n) === text) return true;
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
  if (!hasLongNumber(text)) return JSON.parse(text);
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

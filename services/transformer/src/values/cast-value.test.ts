import { FIELD_TYPES, type FieldType } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import fc from 'fast-check';
import { canonicalUtcTimestamp, castValue, generalTimestamp } from './cast-value';

/** The error castValue throws, or a failure when it returns instead. */
function refusal(field: string, type: FieldType, value: unknown): TributaryError {
  let result: unknown;
  try {
    result = castValue(field, type, value);
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    return err as TributaryError;
  }
  throw new Error(
    `castValue(${JSON.stringify(field)}, ${type}, ${JSON.stringify(value)}) returned ${JSON.stringify(result)} instead of refusing`,
  );
}

function expectRefused(type: FieldType, value: unknown): void {
  const err = refusal('my_field', type, value);
  expect(err.code).toBe('TRIB_E_VALIDATION');
  expect(err.location.field).toBe('my_field');
  expect(err.message).toContain('"my_field"');
  expect(err.message).toContain(type);
}

describe('castValue', () => {
  it.each(Object.keys(FIELD_TYPES) as FieldType[])('turns null and undefined into null for %s', (type) => {
    expect(castValue('f', type, null)).toBeNull();
    expect(castValue('f', type, undefined)).toBeNull();
  });

  describe('string', () => {
    it('keeps strings and stringifies numbers and booleans', () => {
      expect(castValue('f', 'string', 'abc')).toBe('abc');
      expect(castValue('f', 'string', 12.5)).toBe('12.5');
      expect(castValue('f', 'string', false)).toBe('false');
    });
    it.each([[{ a: 1 }], [[1, 2]]])('refuses the object %p', (v) => expectRefused('string', v));
  });

  describe('integer', () => {
    it('keeps safe integers and parses integer strings, surrounding spaces allowed', () => {
      expect(castValue('f', 'integer', 42)).toBe(42);
      expect(castValue('f', 'integer', '-17')).toBe(-17);
      expect(castValue('f', 'integer', ' 8 ')).toBe(8);
      expect(castValue('f', 'integer', Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    });
    it.each([[1.5], ['1.5'], ['1e3'], ['0x10'], [''], ['abc'], [true], [Number.NaN]])('refuses %p', (v) => expectRefused('integer', v));
    it('keeps 64-bit integers beyond 2^53 exact, as their digits', () => {
      expect(castValue('f', 'integer', '9007199254740993')).toBe('9007199254740993');
      expect(castValue('f', 'integer', '-9223372036854775808')).toBe('-9223372036854775808');
      expect(castValue('f', 'integer', 2 ** 53)).toBe('9007199254740992');
    });
    it('refuses integers beyond the 64-bit range rather than wrapping them', () => {
      expectRefused('integer', '9223372036854775808');
      expectRefused('integer', 2 ** 64);
    });
  });

  describe('decimal', () => {
    const money = { precision: 13, scale: 2 };
    it('keeps every digit, padded to the scale, from text and from numbers a double holds exactly', () => {
      expect(castValue('f', 'decimal', '0.10', money)).toBe('0.10');
      expect(castValue('f', 'decimal', 0.1, money)).toBe('0.10');
      expect(castValue('f', 'decimal', '99999999999.99', money)).toBe('99999999999.99');
      expect(castValue('f', 'decimal', 99999999999.99, money)).toBe('99999999999.99');
      expect(castValue('f', 'decimal', '-5', money)).toBe('-5.00');
      expect(castValue('f', 'decimal', '1.5e2', money)).toBe('150.00');
      expect(castValue('f', 'decimal', '12345678901234567890.123456789012345678')).toBe('12345678901234567890.123456789012345678');
    });
    it('refuses to round: more digits after the point than the scale is an error, not a smaller number', () => {
      expect(() => castValue('f', 'decimal', '0.105', money)).toThrow(/more than 2 digits after the point/);
      expect(() => castValue('f', 'decimal', '0.1050', money)).toThrow(/more than 2 digits after the point/);
      expect(castValue('f', 'decimal', '0.1000', money)).toBe('0.10');
    });
    it('refuses values too wide for the precision', () => {
      expect(() => castValue('f', 'decimal', '100000000000.00', money)).toThrow(/more than 11 digits before the point/);
    });
    it.each([['abc'], [''], [Number.NaN], [Number.POSITIVE_INFINITY], ['NaN'], [true], [{}]])('refuses %p', (v) =>
      expectRefused('decimal', v),
    );
  });

  describe('number', () => {
    it('keeps finite numbers and parses decimal and exponent strings', () => {
      expect(castValue('f', 'number', 3.25)).toBe(3.25);
      expect(castValue('f', 'number', '-3.25')).toBe(-3.25);
      expect(castValue('f', 'number', '.5')).toBe(0.5);
      expect(castValue('f', 'number', '1.5e3')).toBe(1500);
    });
    it.each([[Number.POSITIVE_INFINITY], [Number.NaN], ['12km'], [''], ['Infinity'], [true], [{}]])('refuses %p', (v) =>
      expectRefused('number', v),
    );
  });

  describe('boolean', () => {
    it('accepts booleans, "true"/"false" and 1/0', () => {
      expect(castValue('f', 'boolean', true)).toBe(true);
      expect(castValue('f', 'boolean', 'false')).toBe(false);
      expect(castValue('f', 'boolean', 'true')).toBe(true);
      expect(castValue('f', 'boolean', 1)).toBe(true);
      expect(castValue('f', 'boolean', 0)).toBe(false);
    });
    it.each([['yes'], ['TRUE'], [2], ['1'], [[]]])('refuses %p', (v) => expectRefused('boolean', v));
  });

  describe('timestamp', () => {
    it('normalises ISO strings with an offset to UTC ISO form', () => {
      expect(castValue('f', 'timestamp', '2025-01-02T03:04:05+02:00')).toBe('2025-01-02T01:04:05.000Z');
      expect(castValue('f', 'timestamp', '2025-01-02T03:04:05.123Z')).toBe('2025-01-02T03:04:05.123Z');
    });
    it('keeps microseconds (PostgreSQL timestamptz precision) and rounds beyond them as PostgreSQL does', () => {
      expect(castValue('f', 'timestamp', '2026-12-06 10:11:12.345678+00')).toBe('2026-12-06T10:11:12.345678Z');
      expect(castValue('f', 'timestamp', '2026-12-06T10:11:12.000001Z')).toBe('2026-12-06T10:11:12.000001Z');
      expect(castValue('f', 'timestamp', '2026-12-06T12:11:12.345678+02:00')).toBe('2026-12-06T10:11:12.345678Z');
      expect(castValue('f', 'timestamp', '2026-12-06T10:11:12.3456785Z')).toBe('2026-12-06T10:11:12.345679Z');
      expect(castValue('f', 'timestamp', '2026-12-06T23:59:59.9999999Z')).toBe('2026-12-07T00:00:00.000Z');
    });
    it('writes UTC timestamps of up to six fraction digits as the general parser does, by their digits alone', () => {
      const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
      const text = fc
        .tuple(
          fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')),
          two(13),
          two(32),
          two(25),
          two(61),
          two(61),
          fc.option(fc.stringMatching(/^[0-9]{1,7}$/), { nil: undefined }),
        )
        .map(([y, mo, d, h, mi, s, f]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${f === undefined ? '' : `.${f}`}Z`);
      fc.assert(
        fc.property(text, (v) => {
          const general = generalTimestamp(v);
          const fast = canonicalUtcTimestamp(v);
          // Seven fraction digits round: the fast path leaves those to the general one.
          if (fast !== undefined || !/\.[0-9]{7}Z$/.test(v)) expect(fast).toBe(general);
          expect(general === undefined ? 'refused' : castValue('f', 'timestamp', v)).toBe(general ?? 'refused');
        }),
        { numRuns: 3000 },
      );
      expect(castValue('f', 'timestamp', '2026-12-06T10:11:12.34567Z')).toBe('2026-12-06T10:11:12.345670Z');
      expect(castValue('f', 'timestamp', '2026-12-06T10:11:12.1Z')).toBe('2026-12-06T10:11:12.100Z');
      expect(castValue('f', 'timestamp', '2026-12-06T10:11:12Z')).toBe('2026-12-06T10:11:12.000Z');
    });
    it('reads numbers as epoch milliseconds', () => {
      expect(castValue('f', 'timestamp', 0)).toBe('1970-01-01T00:00:00.000Z');
      expect(castValue('f', 'timestamp', Date.UTC(2025, 5, 1, 12))).toBe('2025-06-01T12:00:00.000Z');
    });
    it.each([['not a date'], ['2025-13-01T00:00:00Z'], [true], [{ at: 1 }]])('refuses %p', (v) => expectRefused('timestamp', v));
    // V8's fallback date parser reads any text with a number in it as a date in 2001, and rolls
    // impossible days over into the next month; neither is a timestamp the record meant.
    it.each([['Tuesday 3'], ['true 1'], ['2025-02-30T00:00:00Z']])('refuses %p, which only a lenient parser reads as a date', (v) =>
      expectRefused('timestamp', v),
    );
  });

  describe('date', () => {
    it('keeps YYYY-MM-DD strings and takes the UTC day of timestamps and epoch milliseconds', () => {
      expect(castValue('f', 'date', '2024-02-29')).toBe('2024-02-29');
      expect(castValue('f', 'date', '2025-01-02T23:30:00-05:00')).toBe('2025-01-03');
      expect(castValue('f', 'date', 0)).toBe('1970-01-01');
    });
    it.each([['someday'], ['2025-13-01'], [false]])('refuses %p', (v) => expectRefused('date', v));
    it('refuses a calendar day that does not exist instead of passing it to the warehouse', () => {
      expectRefused('date', '2025-02-30');
      expectRefused('date', '2025-02-29');
    });
    it('knows the Gregorian leap years and the length of each month', () => {
      for (const ok of ['2000-02-29', '2024-02-29', '2025-04-30', '2025-12-31', '0001-01-01']) expect(castValue('f', 'date', ok)).toBe(ok);
      for (const bad of ['1900-02-29', '2100-02-29', '2025-04-31', '2025-06-31', '2025-00-10', '2025-01-00', '0000-01-01']) {
        expectRefused('date', bad);
        expectRefused('timestamp', `${bad}T00:00:00.000Z`);
      }
    });
  });

  describe('json', () => {
    it('passes any value through unchanged', () => {
      const obj = { a: [1, { b: null }] };
      expect(castValue('f', 'json', obj)).toBe(obj);
      expect(castValue('f', 'json', 'text')).toBe('text');
      expect(castValue('f', 'json', 0)).toBe(0);
      expect(castValue('f', 'json', false)).toBe(false);
    });
  });

  it('shortens long values in the refusal message', () => {
    const err = refusal('f', 'integer', 'x'.repeat(500));
    expect(err.message.length).toBeLessThan(200);
    expect(err.message).toContain('...');
  });
});

import fc from 'fast-check';
import { fullFormats } from 'ajv-formats/dist/formats';
import { compileRecordSchema } from './json-schema';
import { isCanonicalTimestamp, parseIsoTimestamp } from './timestamps';

const rfc3339 = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;
const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** Timestamp-shaped strings with every part sometimes out of range, and other spellings. */
const timestampLike = fc
  .record({
    y: fc.integer({ min: 0, max: 9999 }),
    mo: fc.integer({ min: 0, max: 13 }),
    d: fc.integer({ min: 0, max: 32 }),
    h: fc.integer({ min: 0, max: 25 }),
    mi: fc.integer({ min: 0, max: 61 }),
    s: fc.integer({ min: 0, max: 61 }),
    ms: fc.integer({ min: 0, max: 999 }),
    sep: fc.constantFrom('T', 't', ' ', '_'),
    zone: fc.constantFrom('Z', 'z', '+02:00', '-0530', '', '+24:00'),
    frac: fc.constantFrom(3, 0, 1, 6),
  })
  .map(
    ({ y, mo, d, h, mi, s, ms, sep, zone, frac }) =>
      `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}${sep}${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${frac ? `.${pad(ms, 3).padEnd(frac, '0').slice(0, frac)}` : ''}${zone}`,
  );

describe('canonical timestamps', () => {
  it('accepts canonical real instants and refuses impossible ones', () => {
    expect(isCanonicalTimestamp('2024-02-29T23:59:59.999Z')).toBe(true);
    expect(isCanonicalTimestamp(new Date(0).toISOString())).toBe(true);
    expect(isCanonicalTimestamp('2023-02-29T00:00:00.000Z')).toBe(false);
    expect(isCanonicalTimestamp('2024-01-01T24:00:00.000Z')).toBe(false);
    expect(isCanonicalTimestamp('2024-01-01T00:00:00Z')).toBe(false);
    expect(isCanonicalTimestamp(1_700_000_000_000)).toBe(false);
  });

  it('never calls a string canonical that the full RFC 3339 check refuses', () => {
    fc.assert(
      fc.property(fc.oneof(timestampLike, fc.string()), (s) => {
        if (isCanonicalTimestamp(s)) expect(rfc3339(s)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('leaves the JSON Schema date-time format accepting exactly what ajv-formats accepts', () => {
    const check = compileRecordSchema({ type: 'object', properties: { at: { type: 'string', format: 'date-time' } } });
    fc.assert(
      fc.property(fc.oneof(timestampLike, fc.string()), (s) => {
        expect(check({ at: s }) === undefined).toBe(rfc3339(s));
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('parseIsoTimestamp', () => {
  it('reads years 1-99 as themselves, not as 1901-1999 as Date.UTC does', () => {
    expect(parseIsoTimestamp('0001-01-01T00:00:00Z')).toEqual({ ms: Date.parse('0001-01-01T00:00:00Z'), micros: 0 });
    expect(new Date(parseIsoTimestamp('0099-12-31T23:59:59.123456Z')!.ms).toISOString()).toBe('0099-12-31T23:59:59.123Z');
    expect(new Date(parseIsoTimestamp('0004-02-29 12:00+01:00')!.ms).toISOString()).toBe('0004-02-29T11:00:00.000Z');
    expect(new Date(parseIsoTimestamp('0100-01-01T00:00:00Z')!.ms).toISOString()).toBe('0100-01-01T00:00:00.000Z');
  });
});

/**
 * Source time (docs/design.md, Wire contract): canonical RFC 3339 with six fraction digits, from
 * any ISO spelling, exact to the microsecond, the oldest winning, and a bad header refused.
 */
import { headers } from '@nats-io/nats-core';
import { oldestSourceTime, sourceTimeFromMicros, sourceTimeFromMs, sourceTimeHeader, sourceTimeMs, toSourceTime } from './source-time';

describe('source time', () => {
  it('writes every spelling of an instant canonically, keeping microseconds', () => {
    expect(toSourceTime('2026-12-06T10:11:12.345678Z')).toBe('2026-12-06T10:11:12.345678Z');
    expect(toSourceTime('2026-12-06 12:11:12.345678+02')).toBe('2026-12-06T10:11:12.345678Z');
    expect(toSourceTime('2026-12-06T05:11:12.3-05:00')).toBe('2026-12-06T10:11:12.300000Z');
    expect(toSourceTime('2026-12-06T10:11:12Z')).toBe('2026-12-06T10:11:12.000000Z');
    expect(toSourceTime('2026-12-06T10:11:12.0000005Z')).toBe('2026-12-06T10:11:12.000001Z');
    expect(toSourceTime(new Date('2026-12-06T10:11:12.345Z'))).toBe('2026-12-06T10:11:12.345000Z');
  });

  it('refuses what is not a timestamp, numbers included', () => {
    for (const v of ['yesterday', '2026-02-30T00:00:00Z', '2026-12-06T24:00:00Z', '', 1765015872345, null, {}]) {
      expect(toSourceTime(v)).toBeUndefined();
    }
  });

  it('converts PostgreSQL commit microseconds and file modification times exactly', () => {
    expect(sourceTimeFromMicros(1_796_551_872_345_678n)).toBe('2026-12-06T10:11:12.345678Z');
    expect(sourceTimeFromMicros(1_796_551_872_000_001n)).toBe('2026-12-06T10:11:12.000001Z');
    expect(sourceTimeFromMs(1_796_551_872_345.5)).toBe('2026-12-06T10:11:12.345500Z');
    expect(sourceTimeMs('2026-12-06T10:11:12.345678Z')).toBe(Date.UTC(2026, 11, 6, 10, 11, 12, 345));
  });

  it('keeps the oldest, microseconds deciding', () => {
    expect(oldestSourceTime('2026-12-06T10:11:12.000002Z', undefined, '2026-12-06T10:11:12.000001Z')).toBe('2026-12-06T10:11:12.000001Z');
    expect(oldestSourceTime(undefined, undefined)).toBeUndefined();
  });

  it('reads the header canonically and refuses a bad one naming it', () => {
    const h = headers();
    expect(sourceTimeHeader(h)).toBeUndefined();
    h.set('Trib-Source-Time', '2026-12-06T11:11:12.5+01:00');
    expect(sourceTimeHeader(h)).toBe('2026-12-06T10:11:12.500000Z');
    h.set('Trib-Source-Time', 'soon');
    expect(() => sourceTimeHeader(h)).toThrow(/Trib-Source-Time: "soon" is not an RFC 3339 timestamp/);
  });
});

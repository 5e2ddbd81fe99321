import { restIncrementalSpec } from '@tributary/contract/spec';
import { formatTime, parseCursorValue, startOf, syncRange, windowAt, windowCount } from './windows';

const D = 86_400_000;
const NOW = Date.UTC(2025, 5, 10, 12);
const inc = (o: Record<string, unknown>) => restIncrementalSpec.parse({ start: '2025-06-01T00:00:00Z', ...o });

describe('incremental windows', () => {
  it('starts the first sync at `start` (a date-time or a duration before now)', () => {
    expect(startOf(inc({}), NOW)).toBe(Date.UTC(2025, 5, 1));
    expect(startOf(inc({ start: '2d' }), NOW)).toBe(NOW - 2 * D);
    expect(() => startOf(inc({ start: 'yesterday' }), NOW)).toThrow(expect.objectContaining({ code: 'TRIB_E_SPEC' }));
  });

  it('goes back `lookback` from the committed cursor and ends `end` after now', () => {
    expect(syncRange(inc({ lookback: '1d', end: '30d' }), NOW - D, NOW)).toEqual({ start: NOW - 2 * D, end: NOW + 30 * D });
  });

  it('cuts the range into `step` windows, the last one shorter', () => {
    const i = inc({ step: '4d' });
    const r = syncRange(i, undefined, NOW);
    expect(windowCount(i, r)).toBe(3);
    expect(windowAt(i, r, 2)).toEqual({ start: Date.UTC(2025, 5, 9), end: NOW });
    expect(windowCount(inc({}), r)).toBe(1);
    expect(windowCount(i, { start: NOW, end: NOW })).toBe(0);
  });

  it('formats window bounds the way APIs want them', () => {
    const t = Date.UTC(2025, 0, 2, 3, 4, 5, 600);
    expect(['iso', 'iso_seconds', 'unix', 'unix_ms', 'date'].map((f) => formatTime(t, f as never))).toEqual([
      '2025-01-02T03:04:05.600Z',
      '2025-01-02T03:04:05Z',
      '1735787045',
      '1735787045600',
      '2025-01-02',
    ]);
  });

  it('reads cursor values as ISO date-times or epoch seconds/milliseconds', () => {
    expect(parseCursorValue('2025-01-02T03:04:05Z')).toBe(Date.UTC(2025, 0, 2, 3, 4, 5));
    expect(parseCursorValue(1735787045)).toBe(1735787045000);
    expect(parseCursorValue(1735787045600)).toBe(1735787045600);
    expect(parseCursorValue('soon')).toBeUndefined();
  });
});

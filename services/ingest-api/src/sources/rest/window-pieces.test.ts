import { restIncrementalSpec } from '@tributary/contract/spec';
import { coveredToEnd, halve, observeCursor, restAfter, splitDidNotNarrow } from './window-pieces';

const H = 3_600_000;
const inc = (extra: Record<string, unknown> = {}) =>
  restIncrementalSpec.parse({ start: '1d', min_step: '1h', format: 'iso_seconds', ...extra });

describe('window pieces', () => {
  it('halves a window at whole seconds, down to twice min_step, each half knowing the whole total', () => {
    expect(halve(inc(), { start: 0, end: 4 * H + 1 }, { records: 9 })).toEqual([
      { start: 0, end: 2 * H, whole: { records: 9 } },
      { start: 2 * H, end: 4 * H + 1, whole: { records: 9 } },
    ]);
    expect(halve(inc(), { start: 0, end: 2 * H - 1 }, {})).toBeUndefined();
    expect(halve(inc({ format: 'date', min_step: '1m' }), { start: 0, end: 86_400_000 }, {})).toBeUndefined();
  });

  it('a half declaring as much as the whole did not narrow it (the API ignores the bound)', () => {
    expect(splitDidNotNarrow({ records: 10 }, { records: 10 })).toBe(true);
    expect(splitDidNotNarrow({ records: 10 }, { records: 4 })).toBe(false);
    expect(splitDidNotNarrow(undefined, { records: 10 })).toBe(false);
    expect(splitDidNotNarrow({ pages: 3 }, { pages: 3 })).toBe(true);
  });

  it('follows the cursor values: sorted until one goes back, and covered once they reach the end', () => {
    let r = observeCursor({ read: 0, sorted: true }, [1, 2, undefined, 2, 5]);
    expect(r).toEqual({ read: 0, sorted: true, last: 5 });
    expect(coveredToEnd({ start: 0, end: 5 }, r)).toBe(true);
    expect(coveredToEnd({ start: 0, end: 6 }, r)).toBe(false);
    r = observeCursor(r, [4]);
    expect(r.sorted).toBe(false);
    expect(coveredToEnd({ start: 0, end: 5 }, r)).toBe(false);
  });

  it('goes on after the newest record read when the records came sorted, never without progress', () => {
    const piece = { start: 0, end: 10 * H };
    expect(restAfter(inc(), piece, { read: 5, sorted: true, last: 3 * H + 500 })).toEqual({ start: 3 * H, end: 10 * H });
    expect(restAfter(inc(), piece, { read: 5, sorted: false, last: 3 * H })).toBeUndefined();
    expect(restAfter(inc(), piece, { read: 5, sorted: true, last: 400 })).toBeUndefined();
  });
});

/**
 * Incremental sync windows of the rest source: from the committed cursor (minus `lookback`), or
 * `start` on the first sync, up to now (plus `end`), cut into `step`-sized windows.
 */
import { parseDuration, type RestSourceSpec } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';

type Incremental = NonNullable<RestSourceSpec['incremental']>;

/** A half-open window [start, end), in ms since epoch. */
export interface TimeWindow {
  start: number;
  end: number;
}

/** Where the first sync starts: an ISO date-time, or a duration before `now`. */
export function startOf(inc: Incremental, now: number): number {
  if (/^\d+(?:\.\d+)?(ms|s|m|h|d)$/.test(inc.start)) return now - parseDuration(inc.start);
  const t = Date.parse(inc.start);
  if (Number.isNaN(t))
    throw new TributaryError('TRIB_E_SPEC', `incremental.start "${inc.start}" is neither an ISO date-time nor a duration`);
  return t;
}

/** The range a run covers: [cursor - lookback (or start), now + end). */
export function syncRange(inc: Incremental, cursor: number | undefined, now: number): TimeWindow {
  return { start: cursor === undefined ? startOf(inc, now) : cursor - inc.lookback, end: now + inc.end };
}

/** Number of windows in `range` (0 when it is empty). */
export function windowCount(inc: Incremental, range: TimeWindow): number {
  if (range.end <= range.start) return 0;
  return inc.step ? Math.ceil((range.end - range.start) / inc.step) : 1;
}

/** Window number `i` of `range`. */
export function windowAt(inc: Incremental, range: TimeWindow, i: number): TimeWindow {
  if (!inc.step) return range;
  const start = range.start + i * inc.step;
  return { start, end: Math.min(range.end, start + inc.step) };
}

/** Renders a time the way the API wants it (`incremental.format`). */
export function formatTime(t: number, format: Incremental['format']): string {
  const iso = new Date(t).toISOString();
  switch (format) {
    case 'iso':
      return iso;
    case 'iso_seconds':
      return iso.replace(/\.\d{3}Z$/, 'Z');
    case 'unix':
      return String(Math.floor(t / 1000));
    case 'unix_ms':
      return String(t);
    case 'date':
      return iso.slice(0, 10);
  }
}

/** Reads a cursor value from a record: an ISO date-time, or epoch seconds/milliseconds as a number. */
export function parseCursorValue(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e11 ? v * 1000 : v;
  if (typeof v === 'string' && v !== '') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

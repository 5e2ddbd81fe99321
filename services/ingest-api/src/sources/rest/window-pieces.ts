/**
 * Pieces of a rest unit's time window: when a window's result is deeper than the API pages
 * (`max_pages`, `max_depth`, `depth_error`), the window is halved and each half paged, down to
 * `incremental.min_step`. What a piece read is kept so the run can tell a complete piece from a
 * partial one: the declared total, the records read, and whether the `cursor_field` values came
 * sorted (then records past the piece's end prove an API that ignores the end bound, reading up to
 * the end covers the piece even though the API would have served more, and a piece cut short by
 * a cap goes on from the newest record read instead of being halved).
 */
import type { RestSourceSpec } from '@tributary/contract/spec';
import type { DeclaredTotal } from './paginator';
import type { TimeWindow } from './windows';

type Incremental = NonNullable<RestSourceSpec['incremental']>;

/** A part of a unit's window still to read; `whole` is the declared total of the window it was split from. */
export interface Piece extends TimeWindow {
  whole?: DeclaredTotal;
}

/** What was read of the piece in progress (kept in the run plan, so a resumed run keeps judging it). */
export interface PieceReading {
  /** Records read from the piece so far. */
  read: number;
  /** The total its first page declared. */
  total?: DeclaredTotal;
  /** Newest `cursor_field` value read, and whether the values came in non-decreasing order. */
  last?: number;
  sorted: boolean;
}

/** The resolution a window bound renders at: a split point finer than it would render as the same bound. */
function resolutionMs(format: Incremental['format']): number {
  if (format === 'date') return 86_400_000;
  if (format === 'unix' || format === 'iso_seconds') return 1000;
  return 1;
}

/**
 * The two halves of `piece`, or undefined when it is no longer than twice `min_step` (or cannot
 * be halved at the format's resolution). Each half remembers the declared total of the whole.
 */
export function halve(inc: Incremental, piece: TimeWindow, whole: DeclaredTotal): [Piece, Piece] | undefined {
  if (piece.end - piece.start < 2 * inc.min_step) return undefined;
  const res = resolutionMs(inc.format);
  const mid = Math.floor((piece.start + (piece.end - piece.start) / 2) / res) * res;
  if (mid <= piece.start || mid >= piece.end) return undefined;
  return [
    { start: piece.start, end: mid, whole },
    { start: mid, end: piece.end, whole },
  ];
}

/**
 * Whether a half declared as many records (or pages) as the whole it was split from: the API did
 * not narrow the result, so it ignores the bound and further splits cannot help. (A window whose
 * records all fall in its first half looks the same; the run then reads as deep as allowed and
 * says so, rather than splitting without end.)
 */
export function splitDidNotNarrow(whole: DeclaredTotal | undefined, half: DeclaredTotal): boolean {
  if (!whole) return false;
  if (whole.records !== undefined && half.records !== undefined) return half.records >= whole.records;
  if (whole.pages !== undefined && half.pages !== undefined) return half.pages >= whole.pages && whole.pages > 1;
  return false;
}

/** Adds the cursor values of one page to the reading. */
export function observeCursor(reading: PieceReading, values: readonly (number | undefined)[]): PieceReading {
  let { last, sorted } = reading;
  for (const t of values) {
    if (t === undefined) continue;
    if (last !== undefined && t < last) sorted = false;
    last = last === undefined ? t : Math.max(last, t);
  }
  return { ...reading, ...(last === undefined ? {} : { last }), sorted };
}

/**
 * The rest of `piece` after a cap, when its records came sorted by `cursor_field`: from the
 * newest value read (inclusive, at the format's resolution, so records sharing it are read again
 * rather than missed) to its end. Undefined when that would not move past the piece's start.
 */
export function restAfter(inc: Incremental, piece: Piece, reading: PieceReading): Piece | undefined {
  if (!reading.sorted || reading.last === undefined) return undefined;
  const res = resolutionMs(inc.format);
  const from = Math.floor(reading.last / res) * res;
  if (from <= piece.start || from >= piece.end) return undefined;
  return { start: from, end: piece.end, ...(piece.whole ? { whole: piece.whole } : {}) };
}

/**
 * Whether a piece whose paging stopped at a cap was read whole after all: its records came sorted
 * by `cursor_field` and reached its end, so everything the API held inside it came before the cap.
 */
export function coveredToEnd(piece: TimeWindow, reading: PieceReading): boolean {
  return reading.sorted && reading.last !== undefined && reading.last >= piece.end;
}

/**
 * The shapes a rest run keeps (its cursor and plan) and shares between its files (the compiled
 * source parts), and the request/response helpers both the run and the unit reader use.
 */
import { parseJsonExact } from '@tributary/contract/schema';
import { TributaryError } from '@tributary/contract/errors';
import { type RestSourceSpec } from '@tributary/contract/spec';
import type { Expression } from './expression';
import type { RestHttpClient } from './http-client';
import type { PageState, Paginator } from './paginator';
import type { ParentSelector } from './parents';
import type { Piece, PieceReading } from './window-pieces';
import type { TimeWindow } from './windows';

/** What a rest source keeps in its cursor (`cursor.<pipeline>.<source>` in `trib_cursors`). */
export interface RestCursor {
  /** Incremental: the committed position (ms); the next run starts at it minus `lookback`. */
  cursor?: number;
  /** A run in progress, resumed with the same message IDs. */
  run?: RunPlan;
}

/** A planned run and how far it got. */
export interface RunPlan {
  /** Part of every message ID of the run. */
  id: string;
  /** When it was planned (`{{ now }}`). */
  at: number;
  range?: TimeWindow;
  /** Number of parents; the list itself is under the sub-key `parents`. */
  parents?: number;
  /** Next unit to request (window-major: unit = window × parents + parent). */
  unit: number;
  /** Paging position inside `unit` (its first piece) when a run stopped in the middle of it. */
  page?: PageState;
  /** The pieces of `unit`'s window still to read when it was split (the first is in progress). */
  pieces?: Piece[];
  /** What was read of the piece in progress. */
  reading?: PieceReading;
  /** The API was seen to ignore the window bound in this run: no more splits. */
  ignoresBound?: boolean;
  /** Partial-sync notes (a sample) and their count. */
  partial?: string[];
  partialCount?: number;
  /** Newest `cursor_field` value published so far (ms). */
  newest?: number;
  pages: number;
  records: number;
}

/** The compiled parts of a rest source, built once by `create`. */
export interface RestParts {
  spec: RestSourceSpec;
  baseUrl: string;
  records: Expression;
  expect?: Expression;
  cursorField?: Expression;
  paginator: Paginator;
  parents?: ParentSelector;
  /** Auth query parameter, stripped from URLs we store. */
  authQueryParam?: string;
}

/** Joins the base URL and a rendered path; an absolute path must stay on the base URL's origin. */
export function joinUrl(base: string, path: string): URL {
  if (/^https?:\/\//i.test(path)) {
    const url = new URL(path);
    if (url.origin !== new URL(base).origin)
      throw new TributaryError('TRIB_E_SPEC', `request.path ${url.origin} is not on the connection's origin`);
    return url;
  }
  return new URL(`${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
}

/** Parses a JSON body; anything else is TRIB_E_DECODE naming the request. */
export function parseBody(text: string, request: string, client: RestHttpClient): unknown {
  try {
    // Exact: a number no double holds (a long decimal, an id beyond 2^53) arrives as its text.
    return parseJsonExact(text);
  } catch (err) {
    throw new TributaryError(
      'TRIB_E_DECODE',
      `${request}: response is not JSON (${(err as Error).message}): ${client.redact(JSON.stringify(text.slice(0, 120)))}`,
      {
        cause: err,
        details: { request },
      },
    );
  }
}

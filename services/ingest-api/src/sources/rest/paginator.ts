/**
 * Pagination of the rest source: which URL each page has, and whether there is a next page
 * (page number, offset, cursor from the body, next URL from the body or the `Link` header), with
 * the stop condition and the depth caps common to all (`max_pages`, `max_depth`). Reaching a cap
 * with pages left is not decided here: `next` says so (`capped`) and the run splits the window,
 * reports a partial sync or fails, as `on_max_pages` says.
 */
import { TributaryError } from '@tributary/contract/errors';
import { type RestSourceSpec } from '@tributary/contract/spec';
import { compileExpression, type Expression } from './expression';

type Pagination = RestSourceSpec['pagination'];

/** Where a unit's paging stands: the page index (0 = first) and what the API told us to send next. */
export interface PageState {
  index: number;
  /** `cursor` pagination: the token to send. */
  cursor?: string;
  /** `next_url` pagination: the next page's absolute URL. */
  url?: string;
}

/** What a page said about what follows. */
export interface PageOutcome {
  body: unknown;
  headers: Headers;
  /** Records on the page. */
  count: number;
  url: URL;
  /** The request, for errors. */
  request: string;
  /** Records read in this unit so far, this page included (for `max_depth` of cursor-like paging). */
  read: number;
}

/** What `next` decided: the next page, or why paging ended. */
export interface PageStep {
  next?: PageState;
  /** Paging ended because `stop_when` said so (the declared total is then not expected). */
  stopped?: boolean;
  /** Paging ended at `max_pages`/`max_depth` with pages left: the message says which cap, naming the request. */
  capped?: string;
}

/** What the body declares about the whole result (from `total`/`total_pages`). */
export interface DeclaredTotal {
  records?: number;
  pages?: number;
}

/** Parses `Link: <url>; rel="next", ...` and returns the `next` target. */
export function linkNext(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(^|;)\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

/** One source's pagination strategy. */
export class Paginator {
  private readonly stopWhen?: Expression;
  private readonly path?: Expression;
  private readonly total?: Expression;
  private readonly totalPages?: Expression;

  constructor(private readonly spec: Pagination) {
    if (spec.type === 'none') return;
    if (spec.stop_when) this.stopWhen = compileExpression(spec.stop_when, 'pagination.stop_when');
    if ((spec.type === 'cursor' || spec.type === 'next_url') && spec.path) this.path = compileExpression(spec.path, 'pagination.path');
    if (spec.type === 'page_number' && spec.total_pages) this.totalPages = compileExpression(spec.total_pages, 'pagination.total_pages');
    if ((spec.type === 'page_number' || spec.type === 'offset') && spec.total)
      this.total = compileExpression(spec.total, 'pagination.total');
  }

  /** The URL of the page at `state`, built from the unit's first URL. */
  urlFor(first: URL, state: PageState): URL {
    const s = this.spec;
    if (s.type === 'next_url' && state.url) return new URL(state.url);
    const url = new URL(first);
    if (s.type === 'page_number') {
      url.searchParams.set(s.param, String(s.start + state.index));
      if (s.size_param && s.size) url.searchParams.set(s.size_param, String(s.size));
    } else if (s.type === 'offset') {
      url.searchParams.set(s.param, String(state.index * s.size));
      url.searchParams.set(s.size_param, String(s.size));
    } else if (s.type === 'cursor' && state.cursor !== undefined) {
      url.searchParams.set(s.param, state.cursor);
    }
    return url;
  }

  /** The total the body declares (records and/or pages), each only when it is a finite number. */
  async declared(body: unknown): Promise<DeclaredTotal> {
    const num = async (e?: Expression): Promise<number | undefined> => {
      if (!e) return undefined;
      const v = Number(await e.evaluate(body));
      return Number.isFinite(v) && v >= 0 ? v : undefined;
    };
    const out: DeclaredTotal = {};
    const records = await num(this.total);
    const pages = await num(this.totalPages);
    if (records !== undefined) out.records = records;
    if (pages !== undefined) out.pages = pages;
    return out;
  }

  /** Page size when the spec fixes it (page number with `size`, offset), else the first page's count. */
  private pageSize(firstCount?: number): number | undefined {
    const s = this.spec;
    if (s.type === 'offset') return s.size;
    if (s.type === 'page_number') return s.size ?? firstCount;
    return undefined;
  }

  /** Whether the page at `index` (with `read` records before it) is within `max_pages` and `max_depth`. */
  private reachable(index: number, read: number, size?: number): string | undefined {
    const s = this.spec;
    if (s.type === 'none') return undefined;
    if (index >= s.max_pages) return `max_pages (${s.max_pages})`;
    if (s.max_depth === undefined) return undefined;
    const before = size !== undefined && (s.type === 'page_number' || s.type === 'offset') ? index * size : read;
    return before >= s.max_depth ? `max_depth (${s.max_depth})` : undefined;
  }

  /**
   * Whether a result of this declared size can be read whole within the caps: undefined when it
   * can (or nothing is declared), else which cap it exceeds.
   */
  tooDeep(total: DeclaredTotal, firstCount: number): string | undefined {
    const size = this.pageSize(firstCount);
    if (!size) return undefined;
    const pages = total.pages ?? (total.records === undefined ? undefined : Math.ceil(total.records / size));
    if (pages === undefined || pages <= 1) return undefined;
    return this.reachable(pages - 1, (pages - 1) * size, size);
  }

  /** The state of the next page, or why there is none (the end, `stop_when`, or a cap with pages left). */
  async next(state: PageState, page: PageOutcome): Promise<PageStep> {
    const s = this.spec;
    if (s.type === 'none') return {};
    if (this.stopWhen && (await this.stopWhen.evaluate(page.body, { count: page.count, page: state.index })) === true)
      return { stopped: true };
    let next: PageState | undefined;
    switch (s.type) {
      case 'page_number': {
        const total = this.totalPages ? Number(await this.totalPages.evaluate(page.body)) : NaN;
        const records = this.total ? Number(await this.total.evaluate(page.body)) : NaN;
        const last =
          page.count === 0 ||
          (s.size !== undefined && page.count < s.size) ||
          (Number.isFinite(total) && state.index + 1 >= total) ||
          (Number.isFinite(records) && page.read >= records);
        next = last ? undefined : { index: state.index + 1 };
        break;
      }
      case 'offset': {
        const total = this.total ? Number(await this.total.evaluate(page.body)) : NaN;
        const last = page.count < s.size || (Number.isFinite(total) && (state.index + 1) * s.size >= total);
        next = last ? undefined : { index: state.index + 1 };
        break;
      }
      case 'cursor': {
        const token = await this.path!.evaluate(page.body);
        const text = token === undefined || token === null ? '' : String(token);
        next = text === '' || text === state.cursor ? undefined : { index: state.index + 1, cursor: text };
        break;
      }
      case 'next_url': {
        const raw = this.path ? await this.path.evaluate(page.body) : linkNext(page.headers.get('link'));
        if (typeof raw !== 'string' || raw === '') break;
        const url = new URL(raw, page.url);
        // The next URL gets the connection's credentials: never send them to another host.
        if (url.origin !== page.url.origin) {
          throw new TributaryError('TRIB_E_DECODE', `${page.request}: next page URL points to another origin (${url.origin})`, {
            details: { request: page.request },
          });
        }
        const seen = new URL(page.url);
        if (url.toString() !== seen.toString()) next = { index: state.index + 1, url: url.toString() };
        break;
      }
    }
    if (!next) return {};
    const cap = this.reachable(next.index, page.read, this.pageSize(state.index === 0 ? page.count : undefined));
    if (cap) return { capped: `${page.request}: stopped at ${cap} with more pages left` };
    return { next };
  }

  /** Whether a 4xx answer's body means "deeper than the API allows" (`depth_error`). */
  isDepthError(body: string | undefined): boolean {
    const s = this.spec;
    return s.type !== 'none' && s.depth_error !== undefined && body !== undefined && body.includes(s.depth_error);
  }

  /** What to do at a cap: `split`, `partial` or `fail` (`none` pagination never reaches one). */
  get onCap(): 'split' | 'partial' | 'fail' {
    return this.spec.type === 'none' ? 'fail' : this.spec.on_max_pages;
  }
}

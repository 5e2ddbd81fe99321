/**
 * Pagination of the rest source: which URL each page has, and whether there is a next page
 * (page number, offset, cursor from the body, next URL from the body or the `Link` header), with
 * the stop condition and the hard page cap common to all.
 */
import { TributaryError, type RestSourceSpec } from '@tributary/core';
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

  constructor(private readonly spec: Pagination) {
    if (spec.type === 'none') return;
    if (spec.stop_when) this.stopWhen = compileExpression(spec.stop_when, 'pagination.stop_when');
    if ((spec.type === 'cursor' || spec.type === 'next_url') && spec.path) this.path = compileExpression(spec.path, 'pagination.path');
    if (spec.type === 'page_number' && spec.total_pages) this.total = compileExpression(spec.total_pages, 'pagination.total_pages');
    if (spec.type === 'offset' && spec.total) this.total = compileExpression(spec.total, 'pagination.total');
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

  /**
   * The state of the next page, or undefined when `page` was the last one. Reaching `max_pages`
   * throws (TRIB_E_DECODE naming the request) with `on_max_pages: fail`, else ends paging.
   */
  async next(state: PageState, page: PageOutcome, onCap: (message: string) => void): Promise<PageState | undefined> {
    const s = this.spec;
    if (s.type === 'none') return undefined;
    if (this.stopWhen && (await this.stopWhen.evaluate(page.body, { count: page.count, page: state.index })) === true) return undefined;
    let next: PageState | undefined;
    switch (s.type) {
      case 'page_number': {
        const total = this.total ? Number(await this.total.evaluate(page.body)) : NaN;
        const last =
          page.count === 0 || (s.size !== undefined && page.count < s.size) || (Number.isFinite(total) && state.index + 1 >= total);
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
    if (next && next.index >= s.max_pages) {
      const message = `${page.request}: stopped at max_pages (${s.max_pages}) with more pages left; narrow the request (e.g. a smaller incremental.step) or raise max_pages`;
      if (s.on_max_pages === 'fail') throw new TributaryError('TRIB_E_DECODE', message, { details: { request: page.request } });
      onCap(message);
      return undefined;
    }
    return next;
  }
}

import { restPaginationSpec } from '@tributary/contract/spec';
import { linkNext, Paginator, type PageOutcome } from './paginator';

const first = new URL('https://api.example.com/items?q=1');
const page = (body: unknown, count: number, headers: Record<string, string> = {}, url = first): PageOutcome => ({
  body,
  headers: new Headers(headers),
  count,
  url,
  request: `GET ${url}`,
  read: count,
});
const make = (spec: Record<string, unknown>) => new Paginator(restPaginationSpec.parse(spec));

describe('linkNext', () => {
  it('finds rel="next" among several links, in any order and quoting', () => {
    expect(linkNext('<https://a/x?page=1>; rel="first", <https://a/x?page=3>; rel="next"')).toBe('https://a/x?page=3');
    expect(linkNext('</x?page=2>; rel=next')).toBe('/x?page=2');
    expect(linkNext('</x?page=1>; rel="prev"')).toBeUndefined();
    expect(linkNext(null)).toBeUndefined();
  });
});

describe('Paginator', () => {
  it('page_number: sets page and size, stops at the total pages or a short page', async () => {
    const p = make({ type: 'page_number', start: 0, size_param: 'size', size: 2, total_pages: 'page.totalPages' });
    expect(p.urlFor(first, { index: 1 }).search).toBe('?q=1&page=1&size=2');
    expect(await p.next({ index: 0 }, page({ page: { totalPages: 3 } }, 2))).toEqual({ next: { index: 1 } });
    expect(await p.next({ index: 2 }, page({ page: { totalPages: 3 } }, 2))).toEqual({});
    expect(await p.next({ index: 0 }, page({}, 1))).toEqual({});
  });

  it('offset: sets offset and limit, stops at a short page or the total', async () => {
    const p = make({ type: 'offset', size: 10, total: 'total' });
    expect(p.urlFor(first, { index: 3 }).search).toBe('?q=1&offset=30&limit=10');
    expect(await p.next({ index: 0 }, page({ total: 25 }, 10))).toEqual({ next: { index: 1 } });
    expect(await p.next({ index: 1 }, page({ total: 20 }, 10))).toEqual({});
  });

  it('cursor: sends the token from the body; a missing or repeated token ends paging', async () => {
    const p = make({ type: 'cursor', param: 'after', path: 'meta.next' });
    expect(await p.next({ index: 0 }, page({ meta: { next: 'abc' } }, 5))).toEqual({ next: { index: 1, cursor: 'abc' } });
    expect(p.urlFor(first, { index: 1, cursor: 'abc' }).search).toBe('?q=1&after=abc');
    expect(await p.next({ index: 1, cursor: 'abc' }, page({ meta: { next: 'abc' } }, 5))).toEqual({});
    expect(await p.next({ index: 0 }, page({ meta: {} }, 5))).toEqual({});
  });

  it('next_url: follows the Link header or a body path, relative to the page, never to another origin', async () => {
    const link = make({ type: 'next_url' });
    expect(await link.next({ index: 0 }, page([], 5, { link: '</items?page=2>; rel="next"' }))).toEqual({
      next: { index: 1, url: 'https://api.example.com/items?page=2' },
    });
    const body = make({ type: 'next_url', path: '_links.next.href' });
    await expect(body.next({ index: 0 }, page({ _links: { next: { href: 'https://evil.example.net/x' } } }, 5))).rejects.toMatchObject({
      code: 'TRIB_E_DECODE',
    });
  });

  it('stops when stop_when holds, with $count and $page bound', async () => {
    const p = make({ type: 'page_number', stop_when: '$count < 3 or done = true' });
    expect(await p.next({ index: 0 }, page({ done: true }, 5))).toEqual({ stopped: true });
    expect(await p.next({ index: 0 }, page({}, 2))).toEqual({ stopped: true });
    expect(await p.next({ index: 0 }, page({}, 5))).toEqual({ next: { index: 1 } });
  });

  it('says which cap ended paging with pages left: max_pages, or max_depth counted in records', async () => {
    expect(await make({ type: 'page_number', max_pages: 2 }).next({ index: 1 }, page({}, 5))).toEqual({
      capped: expect.stringContaining('max_pages (2)'),
    });
    // Ticketmaster: page * size must stay below 1000; page 9 of 100 is the last one allowed.
    const tm = make({ type: 'page_number', start: 0, size: 100, max_depth: 1000 });
    expect(await tm.next({ index: 8 }, page({}, 100))).toEqual({ next: { index: 9 } });
    expect(await tm.next({ index: 9 }, page({}, 100))).toEqual({ capped: expect.stringContaining('max_depth (1000)') });
    const cursor = make({ type: 'cursor', param: 'after', path: 'next', max_depth: 10 });
    expect(await cursor.next({ index: 1 }, { ...page({ next: 'x' }, 5), read: 10 })).toEqual({
      capped: expect.stringContaining('max_depth'),
    });
  });

  it('tells from the declared total whether a result is deeper than the caps allow', async () => {
    const tm = make({
      type: 'page_number',
      start: 0,
      size: 100,
      total: 'page.totalElements',
      total_pages: 'page.totalPages',
      max_depth: 1000,
    });
    expect(await tm.declared({ page: { totalElements: 1233, totalPages: 13 } })).toEqual({ records: 1233, pages: 13 });
    expect(tm.tooDeep({ records: 1233, pages: 13 }, 100)).toContain('max_depth (1000)');
    expect(tm.tooDeep({ records: 1000, pages: 10 }, 100)).toBeUndefined();
    expect(make({ type: 'offset', size: 10, max_pages: 3 }).tooDeep({ records: 31 }, 10)).toContain('max_pages (3)');
  });

  it('recognises the declared depth error in an answer body', () => {
    const p = make({ type: 'page_number', depth_error: 'DIS1035' });
    expect(p.isDepthError('{"errors":[{"code":"DIS1035","detail":"Max paging depth exceeded"}]}')).toBe(true);
    expect(p.isDepthError('{"errors":[{"code":"DIS1004"}]}')).toBe(false);
    expect(make({ type: 'page_number' }).isDepthError('DIS1035')).toBe(false);
  });
});

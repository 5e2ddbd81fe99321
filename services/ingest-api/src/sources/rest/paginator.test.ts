import { restPaginationSpec } from '@tributary/core';
import { linkNext, Paginator, type PageOutcome } from './paginator';

const first = new URL('https://api.example.com/items?q=1');
const page = (body: unknown, count: number, headers: Record<string, string> = {}, url = first): PageOutcome => ({
  body,
  headers: new Headers(headers),
  count,
  url,
  request: `GET ${url}`,
});
const make = (spec: Record<string, unknown>) => new Paginator(restPaginationSpec.parse(spec));
const noCap = () => undefined;

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
    expect(await p.next({ index: 0 }, page({ page: { totalPages: 3 } }, 2), noCap)).toEqual({ index: 1 });
    expect(await p.next({ index: 2 }, page({ page: { totalPages: 3 } }, 2), noCap)).toBeUndefined();
    expect(await p.next({ index: 0 }, page({}, 1), noCap)).toBeUndefined();
  });

  it('offset: sets offset and limit, stops at a short page or the total', async () => {
    const p = make({ type: 'offset', size: 10, total: 'total' });
    expect(p.urlFor(first, { index: 3 }).search).toBe('?q=1&offset=30&limit=10');
    expect(await p.next({ index: 0 }, page({ total: 25 }, 10), noCap)).toEqual({ index: 1 });
    expect(await p.next({ index: 1 }, page({ total: 20 }, 10), noCap)).toBeUndefined();
  });

  it('cursor: sends the token from the body; a missing or repeated token ends paging', async () => {
    const p = make({ type: 'cursor', param: 'after', path: 'meta.next' });
    expect(await p.next({ index: 0 }, page({ meta: { next: 'abc' } }, 5), noCap)).toEqual({ index: 1, cursor: 'abc' });
    expect(p.urlFor(first, { index: 1, cursor: 'abc' }).search).toBe('?q=1&after=abc');
    expect(await p.next({ index: 1, cursor: 'abc' }, page({ meta: { next: 'abc' } }, 5), noCap)).toBeUndefined();
    expect(await p.next({ index: 0 }, page({ meta: {} }, 5), noCap)).toBeUndefined();
  });

  it('next_url: follows the Link header or a body path, relative to the page, never to another origin', async () => {
    const link = make({ type: 'next_url' });
    expect(await link.next({ index: 0 }, page([], 5, { link: '</items?page=2>; rel="next"' }), noCap)).toEqual({
      index: 1,
      url: 'https://api.example.com/items?page=2',
    });
    const body = make({ type: 'next_url', path: '_links.next.href' });
    await expect(
      body.next({ index: 0 }, page({ _links: { next: { href: 'https://evil.example.net/x' } } }, 5), noCap),
    ).rejects.toMatchObject({
      code: 'TRIB_E_DECODE',
    });
  });

  it('stops when stop_when holds, with $count and $page bound', async () => {
    const p = make({ type: 'page_number', stop_when: '$count < 3 or done = true' });
    expect(await p.next({ index: 0 }, page({ done: true }, 5), noCap)).toBeUndefined();
    expect(await p.next({ index: 0 }, page({}, 2), noCap)).toBeUndefined();
    expect(await p.next({ index: 0 }, page({}, 5), noCap)).toEqual({ index: 1 });
  });

  it('fails at max_pages naming the request, or stops with a warning when told to', async () => {
    await expect(make({ type: 'page_number', max_pages: 2 }).next({ index: 1 }, page({}, 5), noCap)).rejects.toMatchObject({
      code: 'TRIB_E_DECODE',
      message: expect.stringContaining('max_pages (2)'),
    });
    const warnings: string[] = [];
    expect(
      await make({ type: 'page_number', max_pages: 2, on_max_pages: 'stop' }).next({ index: 1 }, page({}, 5), (m) => warnings.push(m)),
    ).toBeUndefined();
    expect(warnings).toHaveLength(1);
  });
});

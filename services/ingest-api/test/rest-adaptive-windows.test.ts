/**
 * Windows that adapt to an API's caps, against a real NATS and the local fake APIs: a Ticketmaster
 * that ignores `endDateTime` and refuses to page past a depth, a list deeper than the API pages
 * with no window to split, and a paging end that falls short of the declared total. Every record
 * lands where it can; what cannot be read is a partial sync naming the window, never a retry loop
 * and never a silent success.
 */
import { FakeApis, stopAll } from '@tributary/testkit';
import type { Pipeline } from '@tributary/contract/spec';
import { create } from '../src/sources/rest';
import type { RestCursor } from '../src/sources/rest/rest-run';
import { PullHarness } from './pull-harness';

afterAll(stopAll);

const DAY = 86_400_000;

describe('rest windows that adapt to caps', () => {
  let h: PullHarness;
  let fake: FakeApis;
  const now = Math.floor(Date.now() / 3_600_000) * 3_600_000;

  beforeAll(async () => {
    // 120 events, 10 a day over the last 12 days; the API ignores the end bound and pages 50 deep.
    [h, fake] = await Promise.all([
      PullHarness.start(),
      new FakeApis({ now, events: 120, pastDays: 12, futureDays: 0, ignoreEndBound: true, maxDepth: 50, genericItems: 25 }).start(),
    ]);
    process.env.ADAPT_URL = fake.url;
  });
  afterAll(async () => {
    await fake.stop();
    await h.close();
  });

  const pipeline = (name: string, source: string): Pipeline =>
    h.pipeline(`
pipeline: ${name}
connections:
  api: { kind: http, base_url: "${fake.url}", auth: { type: api_key, in: query, name: apikey, secret: env:ADAPT_KEY } }
sources:
  src:
${source}
datasets:
  out: { from: src, fields: { id: string } }
`);
  const run = (p: Pipeline) =>
    h.runOnce(create.pull(p.sources.src as never, { pipeline: p, name: 'src', ingestor: undefined as never, logger: h.logger }), p, 'src');
  const ids = async (p: Pipeline): Promise<string[]> =>
    [...new Set((await h.env.raw(p.name, 'src')).flatMap((m) => m.records.map((r) => r.id as string)))].sort();
  const events = (paging: string) => `    kind: rest
    connection: api
    request:
      path: /discovery/v2/events.json
      query: { sort: "date,asc", startDateTime: "{{ window.start }}", endDateTime: "{{ window.end }}" }
    records: _embedded.events
    expect: $exists(page)
    pagination: { type: page_number, start: 0, param: page, size_param: size, size: 10, total_pages: page.totalPages, total: page.totalElements, ${paging} }
    incremental: { start: "${new Date(now - 12 * DAY).toISOString()}", step: 6d, min_step: 1h, cursor_field: dates.start.dateTime, format: iso_seconds }`;

  beforeEach(() => {
    process.env.ADAPT_KEY = 'k';
    fake.requests.length = 0;
  });

  it('reads every event of an API that ignores the window end and caps depth (declared max_depth): no 400, no partial, no retry', async () => {
    const p = pipeline('adapt_depth', events('max_depth: 50'));
    const result = await run(p);
    expect(result).toMatchObject({ records: expect.any(Number) });
    expect(result && 'partial' in result ? result.partial : undefined).toBeUndefined();
    expect(await ids(p)).toEqual(fake.allEvents.map((e) => e.id as string).sort());
    const tm = fake.requestsTo('/discovery');
    // Paging never asked past the depth, and the run did not loop: a bounded number of pages.
    expect(tm.filter((r) => r.status !== 200)).toEqual([]);
    expect(tm.every((r) => Number(r.query.page) * Number(r.query.size) < 50)).toBe(true);
    expect(tm.length).toBeLessThan(40);
    expect((await h.cursorStore(p, 'src').get<RestCursor>())?.run).toBeUndefined();
  });

  it("treats the API's depth error (DIS1035) as the cap when no depth is declared, and still reads every event", async () => {
    const p = pipeline('adapt_error', events('depth_error: DIS1035'));
    const result = await run(p);
    expect(result && 'partial' in result ? result.partial : undefined).toBeUndefined();
    expect(await ids(p)).toEqual(fake.allEvents.map((e) => e.id as string).sort());
    const refused = fake.requestsTo('/discovery').filter((r) => r.status === 400);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.length).toBeLessThan(10);
  });

  it('fails the run at the cap with on_max_pages: fail, naming the request', async () => {
    const p = pipeline('adapt_fail', events('max_depth: 50, on_max_pages: fail'));
    await expect(run(p)).rejects.toMatchObject({ code: 'TRIB_E_DECODE', message: expect.stringContaining('max_depth (50)') });
  });

  it('reports a list deeper than the API pages, with no window to split, as a partial sync naming what was left', async () => {
    const p = pipeline(
      'adapt_partial',
      `    kind: rest
    connection: api
    request: { path: /generic/offset }
    records: items
    pagination: { type: offset, size: 5, total: total, max_depth: 15 }`,
    );
    const result = await run(p);
    expect(result).toMatchObject({ partial: expect.stringMatching(/read 15 of 25 records: .*max_depth \(15\)/), records: 15, pages: 3 });
    // What was read is committed (the run is over, not retried from the same page).
    expect(await ids(p)).toHaveLength(15);
    expect((await h.cursorStore(p, 'src').get<RestCursor>())?.run).toBeUndefined();
    expect(fake.requestsTo('/generic/offset').map((r) => Number(r.query.offset))).toEqual([0, 5, 10]);
  });

  it('checks the end of paging against the declared total: a short end is partial, not success', async () => {
    const p = pipeline(
      'adapt_short',
      `    kind: rest
    connection: api
    request: { path: /generic/offset }
    records: items
    pagination: { type: offset, size: 5, total: total }`,
    );
    fake.inject('/generic/offset', { pass: true }, { status: 200, body: '{"items": [], "total": 25}' });
    const result = await run(p);
    expect(result).toMatchObject({ partial: expect.stringContaining('paging ended after 5 records, the API declared 25') });
  });
});

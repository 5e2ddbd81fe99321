/**
 * The rest source against a real NATS and the local fake APIs: every pagination kind, retries
 * with Retry-After, malformed responses (fail, and dead-letter), incremental windows and cursor,
 * fan-out from parent records, and secrets kept out of logs and cursors.
 */
import { FakeApis, FAKE_VENUES, stopAll } from '@tributary/testkit';
import type { Pipeline } from '@tributary/contract/spec';
import type { Rec } from '@tributary/contract/codec';
import { create } from '../src/sources/rest';
import type { RestCursor } from '../src/sources/rest/rest-run';
import { PullHarness } from './pull-harness';

afterAll(stopAll);

const KEY = 'test-key-5ecr3t';

/** A pipeline with one fake-API connection and the given sources. */
function yaml(name: string, sources: string, auth = 'auth: { type: api_key, in: query, name: apikey, secret: env:FAKE_API_KEY }'): string {
  return `
pipeline: ${name}
connections:
  fake: { kind: http, base_url: "${process.env.FAKE_URL}", ${auth} }
sources:
${sources}
datasets:
  out: { from: [${[...sources.matchAll(/^ {2}(\w+):/gm)].map((m) => m[1]).join(', ')}], fields: { id: string } }
`;
}

describe('rest source', () => {
  let h: PullHarness;
  let fake: FakeApis;
  // The fake's data are relative to this hour; windows below start from it, so their bounds are known.
  const now = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const iso = (t: number): string => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

  beforeAll(async () => {
    [h, fake] = await Promise.all([PullHarness.start(), new FakeApis({ apiKey: KEY, now, events: 53, genericItems: 25 }).start()]);
    process.env.FAKE_URL = fake.url;
    process.env.FAKE_API_KEY = KEY;
  });
  afterAll(async () => {
    await fake.stop();
    await h.close();
  });

  const run = (p: Pipeline, source: string) =>
    h.runOnce(
      create.pull(p.sources[source] as never, { pipeline: p, name: source, ingestor: undefined as never, logger: h.logger }),
      p,
      source,
    );
  const records = async (p: Pipeline, source: string): Promise<Rec[]> => (await h.env.raw(p.name, source)).flatMap((m) => m.records);

  it('pages through Ticketmaster by page number in date windows, each event once, message IDs from window and page', async () => {
    const p = h.pipeline(
      yaml(
        'tm',
        `  events:
    kind: rest
    connection: fake
    request:
      path: /discovery/v2/events.json
      query: { size: 5, startDateTime: "{{ window.start }}", endDateTime: "{{ window.end }}" }
    records: _embedded.events
    expect: $exists(page)
    pagination: { type: page_number, start: 0, param: page, size_param: size, size: 5, total_pages: page.totalPages }
    incremental: { start: "${new Date(now - 30 * 86_400_000).toISOString()}", step: 30d, end: 60d, format: iso_seconds }
`,
      ),
    );
    await run(p, 'events');
    const got = await records(p, 'events');
    expect(got.map((e) => e.id).sort()).toEqual(fake.allEvents.map((e) => e.id).sort());
    const ids = (await h.env.raw('tm', 'events')).map((m) => m.msgId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toMatch(new RegExp(`^tm/events:\\d{8}T\\d{6}Z-\\w{6}:w${iso(now - 30 * 86_400_000)}\\.\\.${iso(now)}:p0$`));
    const cursor = await h.cursorStore(p, 'events').get<RestCursor>();
    // Committed at the end of the range: the plan's now + `end`.
    expect(cursor?.run).toBeUndefined();
    expect(cursor?.cursor).toBeGreaterThanOrEqual(now + 60 * 86_400_000);
    // Every request carried the key; nothing we stored carries it.
    expect(fake.requestsTo('/discovery').every((r) => r.query.apikey === KEY)).toBe(true);
    expect(JSON.stringify(cursor)).not.toContain(KEY);
  });

  it.each([
    ['offset', '/generic/offset', 'items', '{ type: offset, size: 7, total: total }'],
    ['cursor from the body', '/generic/cursor', 'data', '{ type: cursor, param: cursor, path: next_cursor }'],
    ['Link header', '/generic/link', '$', '{ type: next_url }'],
  ])('pages through %s pagination to the end', async (_kind, path, selector, pagination) => {
    const name = `pg_${path.split('/')[2]}`;
    const p = h.pipeline(
      yaml(
        name,
        `  items:\n    kind: rest\n    connection: fake\n    request: { path: ${path} }\n    records: "${selector}"\n    pagination: ${pagination}\n`,
      ),
    );
    await run(p, 'items');
    const got = await records(p, 'items');
    expect(got.map((r) => r.n)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it('follows a next URL from the body (Ticketmaster _links.next) and keeps the key out of it', async () => {
    const p = h.pipeline(
      yaml(
        'tm_links',
        `  events:
    kind: rest
    connection: fake
    request: { path: /discovery/v2/events.json, query: { size: 20 } }
    records: _embedded.events
    pagination: { type: next_url, path: _links.next.href }
`,
      ),
    );
    await run(p, 'events');
    expect((await records(p, 'events')).length).toBe(53);
    // The plan stored after each page held the next URL, without the key the API echoed in it.
    const stored: string[] = [];
    for await (const e of await h.cursors.history({ key: 'cursor.tm_links.events' })) stored.push(e.string());
    expect(stored.some((v) => v.includes('/discovery/v2/events.json?'))).toBe(true);
    expect(stored.join('\n')).not.toContain(KEY);
  });

  it('gives each message the oldest source_time of its records, and none without source_time (a fetch time is not the source time)', async () => {
    const source = (name: string, extra: string) => `  ${name}:
    kind: rest
    connection: fake
    request: { path: /generic/offset, query: { limit: 10 } }
    records: items
    pagination: { type: offset, size: 10, total: total }
${extra}`;
    const p = h.pipeline(yaml('rest_source_time', source('timed', '    source_time: updated_at\n') + source('untimed', '')));
    await run(p, 'timed');
    await run(p, 'untimed');
    const timed = await h.env.raw(p.name, 'timed');
    expect(timed).toHaveLength(3);
    for (const m of timed) {
      const oldest = m.records.map((r) => r.updated_at as string).sort()[0]!;
      // The fake writes milliseconds; the header is canonical with six digits.
      expect(m.sourceTime).toBe(oldest.replace(/Z$/, '000Z'));
    }
    expect((await h.env.raw(p.name, 'untimed')).map((m) => m.sourceTime)).toEqual([undefined, undefined, undefined]);
  });

  it('retries 429 (after its Retry-After) and 500 with backoff, then gets the page', async () => {
    const p = h.pipeline(
      yaml(
        'retries',
        `  items:\n    kind: rest\n    connection: fake\n    request: { path: /generic/offset }\n    records: items\n    pagination: { type: offset, size: 10 }\n    retry: { attempts: 4, initial: 10ms, max: 5s }\n`,
      ),
    );
    const before = fake.requestsTo('/generic/offset').length;
    fake.inject('/generic/offset', { status: 429, retryAfter: '1' }, { status: 500 });
    await run(p, 'items');
    expect((await records(p, 'items')).length).toBe(25);
    const reqs = fake.requestsTo('/generic/offset').slice(before);
    expect(reqs.map((r) => r.status)).toEqual([429, 500, 200, 200, 200]);
    // The retry after the 429 came no earlier than its Retry-After asked.
    expect(reqs[1]!.at - reqs[0]!.at).toBeGreaterThanOrEqual(1000);
  });

  it('fails the run naming the request on a malformed page, without moving the cursor; the retry resumes at that page', async () => {
    const p = h.pipeline(
      yaml(
        'malformed',
        `  items:\n    kind: rest\n    connection: fake\n    request: { path: /generic/cursor }\n    records: data\n    pagination: { type: cursor, param: cursor, path: next_cursor }\n`,
      ),
    );
    // The first page is fine, the second is truncated JSON.
    fake.inject(
      '/generic/cursor',
      { status: 200, body: JSON.stringify({ data: [{ id: 'item-0000', n: 0 }], next_cursor: 'MQ' }) },
      { malformed: true },
    );
    await expect(run(p, 'items')).rejects.toMatchObject({
      code: 'TRIB_E_DECODE',
      message: expect.stringMatching(/^GET http:\/\/127\.0\.0\.1:\d+\/generic\/cursor\?cursor=MQ&apikey=\*\*\*: response is not JSON/),
    });
    const saved = await h.cursorStore(p, 'items').get<RestCursor>();
    expect(saved?.run?.page).toEqual({ index: 1, cursor: 'MQ' });
    await run(p, 'items');
    const got = await records(p, 'items');
    expect(got.map((r) => r.n)).toEqual([0, ...Array.from({ length: 24 }, (_, i) => i + 1)]);
  });

  it('dead-letters a malformed page with on_malformed: dead_letter and goes on', async () => {
    const p = h.pipeline(
      yaml(
        'malformed_dl',
        `  items:\n    kind: rest\n    connection: fake\n    request: { path: /generic/offset }\n    records: items\n    on_malformed: dead_letter\n    pagination: { type: offset, size: 10 }\n`,
      ),
    );
    fake.inject('/generic/offset', { malformed: true });
    await run(p, 'items');
    const dl = await h.env.deadLetters('malformed_dl', 'items');
    expect(dl).toHaveLength(1);
    expect(dl[0]).toMatchObject({ error: { code: 'TRIB_E_DECODE' }, record: { request: expect.stringContaining('apikey=***') } });
    expect(JSON.stringify(dl)).not.toContain(KEY);
  });

  it('fails with TRIB_E_CONFIG naming the request when the API refuses the key, and never shows the key', async () => {
    process.env.WRONG_KEY = 'wr0ng-k3y';
    const p = h.pipeline(
      yaml(
        'badkey',
        `  items:\n    kind: rest\n    connection: fake\n    request: { path: /generic/offset }\n`,
        'auth: { type: api_key, in: query, name: apikey, secret: env:WRONG_KEY }',
      ),
    );
    const err = await run(p, 'items').catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'TRIB_E_CONFIG', message: expect.stringContaining('GET http://127.0.0.1') });
    expect((err as Error).message).not.toContain('wr0ng-k3y');
  });

  it('fans out one request per venue found in the events stream, tagging each record with its parent', async () => {
    const p = h.pipeline(
      yaml(
        'fanout',
        `  events:
    kind: rest
    connection: fake
    request: { path: /discovery/v2/events.json, query: { size: 100 } }
    records: _embedded.events
  current:
    kind: rest
    connection: fake
    parents: { from: events, select: "_embedded.venues[0].{ 'id': id, 'lat': location.latitude, 'lon': location.longitude }", key: id }
    request: { path: /data/2.5/weather, query: { lat: "{{ parent.lat }}", lon: "{{ parent.lon }}", units: metric } }
    add_fields: { venue_id: "{{ parent.id }}" }
`,
      ),
    );
    await run(p, 'events');
    await run(p, 'current');
    const got = await records(p, 'current');
    expect(got.map((r) => r.venue_id).sort()).toEqual(FAKE_VENUES.map((v) => v.id).sort());
    for (const r of got) {
      const v = FAKE_VENUES.find((x) => x.id === r.venue_id)!;
      expect(r.coord).toEqual({ lat: v.lat, lon: v.lon });
    }
  });

  it('fetches historical weather once per event that started inside the incremental window, once there are events', async () => {
    const p = h.pipeline(
      yaml(
        'history',
        `  events:
    kind: rest
    connection: fake
    request: { path: /discovery/v2/events.json, query: { size: 100 } }
    records: _embedded.events
  past:
    kind: rest
    connection: fake
    parents:
      from: events
      select: "{ 'id': id, 'at': $toMillis(dates.start.dateTime), 'dt': $floor($toMillis(dates.start.dateTime) / 1000), 'lat': _embedded.venues[0].location.latitude, 'lon': _embedded.venues[0].location.longitude }"
      key: id
      where: at >= $window_start and at < $window_end
    incremental: { start: 2000-01-01T00:00:00Z }
    request: { path: /data/3.0/onecall/timemachine, query: { lat: "{{ parent.lat }}", lon: "{{ parent.lon }}", dt: "{{ parent.dt }}" } }
    records: data
    add_fields: { event_id: "{{ parent.id }}" }
`,
      ),
    );
    const before = fake.requestsTo('/data/3.0').length;
    // Before the events source ran there is nothing to fan out from: no request, the windows are
    // not spent (no cursor), and the scheduler is asked to look again soon.
    expect(await run(p, 'past')).toEqual({ retryInMs: 30_000 });
    expect(await h.cursorStore(p, 'past').get()).toBeUndefined();
    await run(p, 'events');
    await run(p, 'past');
    const past = fake.allEvents.filter((e) => Date.parse((e.dates as { start: { dateTime: string } }).start.dateTime) < Date.now());
    expect(fake.requestsTo('/data/3.0').length - before).toBe(past.length);
    expect((await records(p, 'past')).map((r) => r.event_id).sort()).toEqual(past.map((e) => e.id).sort());
    // A second run covers only the time since: no event started in between, no request.
    await run(p, 'past');
    expect(fake.requestsTo('/data/3.0').length - before).toBe(past.length);
  });
});

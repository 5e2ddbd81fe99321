/**
 * A rest source's run survives a SIGKILL of the ingest-api: the compiled service runs the source
 * under its lease, is killed while a page request is open, and a second ingest-api takes the
 * lease over once it expires and resumes the same run at the page after the last one committed.
 * Every record arrives once; no page before the kill is requested again.
 */
import { FakeApis, stopAll, waitFor } from '@tributary/testkit';
import { SourceEnv } from './source-env';

afterAll(stopAll);

describe('rest source across an ingest-api crash', () => {
  let env: SourceEnv;
  let fake: FakeApis;

  beforeAll(async () => {
    [env, fake] = await Promise.all([SourceEnv.start(), new FakeApis({ genericItems: 30 }).start()]);
  });
  afterAll(async () => {
    await fake.stop();
    await env.close();
  });

  it('resumes the run at the next page after a SIGKILL: no gap, no duplicate', async () => {
    env.writePipeline(
      'crash',
      `
pipeline: crash
connections:
  api: { kind: http, base_url: "http://127.0.0.1:1", base_url_env: CRASH_API_URL, auth: { type: bearer, secret: env:CRASH_API_TOKEN } }
sources:
  items:
    kind: rest
    connection: api
    schedule: { every: 1h }
    request: { path: /generic/offset }
    records: items
    pagination: { type: offset, size: 5 }
datasets:
  out: { from: items, fields: { id: string } }
`,
    );
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // Pages 1 and 2 are answered; the request for page 3 stays open until the first ingest-api is dead.
    fake.inject('/generic/offset', { pass: true }, { pass: true }, { hold: held });
    const vars = { CRASH_API_URL: fake.url, CRASH_API_TOKEN: 't0ken' };
    const first = await env.spawnIngest(vars);
    await waitFor(async () => fake.requestsTo('/generic/offset').length >= 3, { timeoutMs: 20_000, what: 'the third page request' });
    first.proc.kill('SIGKILL');
    await first.proc.exited;
    release();

    const second = await env.spawnIngest(vars);
    const messages = await waitFor(
      async () => {
        const m = await env.raw('crash', 'items');
        return m.flatMap((x) => x.records).length >= 30 ? m : undefined;
      },
      { timeoutMs: 30_000, what: '30 records in TRIB_RAW' },
    );
    await second.proc.stop();

    const ids = messages.flatMap((m) => m.records.map((r) => r.id as string));
    expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => `item-${String(i).padStart(4, '0')}`));
    expect(new Set(messages.map((m) => m.msgId)).size).toBe(messages.length);
    // The second replica asked for page 3 (offset 10) first: pages 1 and 2 were committed before the kill.
    const offsets = fake.requestsTo('/generic/offset').map((r) => Number(r.query.offset));
    // (The page at offset 30 is empty: it ends the paging.)
    expect(offsets).toEqual([0, 5, 10, 10, 15, 20, 25, 30]);
    expect(fake.requestsTo('/generic/offset').every((r) => r.headers.authorization === 'Bearer t0ken')).toBe(true);
  });
});

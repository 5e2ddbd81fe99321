/**
 * Connection budgets against a real NATS and a local API that counts a sliding window and answers
 * 429 past its quota: with a margin no request is refused; without it the 429s show in
 * `tributary_rest_rate_limited_total` (and every record still lands); two pipelines that declare
 * the same API key share one budget and stay within one quota together.
 */
import { FakeApis, stopAll } from '@tributary/testkit';
import type { Pipeline } from '@tributary/contract/spec';
import type { Counter, Registry } from 'prom-client';
import { create } from '../src/sources/rest';
import { PullHarness } from './pull-harness';

afterAll(stopAll);

/** The API's quota: 10 requests in any 500 ms. */
const QUOTA = { requests: 10, perMs: 500 };
const ITEMS = 60;

describe('rest connection budgets', () => {
  let h: PullHarness;
  let fake: FakeApis;
  let n = 0;

  beforeAll(async () => {
    h = await PullHarness.start();
  });
  beforeEach(async () => {
    fake = await new FakeApis({ genericItems: ITEMS, rateLimit: QUOTA }).start();
    process.env.BUDGET_API_KEY = `key-${++n}`; // a fresh key: a fresh budget
  });
  afterEach(() => fake.stop());
  afterAll(() => h.close());

  const pipeline = (name: string, budget: string): Pipeline =>
    h.pipeline(`
pipeline: ${name}
connections:
  api:
    kind: http
    base_url: "${fake.url}"
    auth: { type: api_key, in: query, name: apikey, secret: env:BUDGET_API_KEY }
    budget: ${budget}
sources:
  items:
    kind: rest
    connection: api
    request: { path: /generic/offset }
    records: items
    pagination: { type: offset, size: 2, total: total }
    retry: { attempts: 10, initial: 100ms, max: 5s }
datasets:
  out: { from: items, fields: { id: string } }
`);
  const run = async (p: Pipeline, registry?: Registry): Promise<Registry> => {
    const deps = await h.deps();
    const reg = registry ?? deps.registry;
    const src = create.pull(p.sources.items as never, { pipeline: p, name: 'items', ingestor: undefined as never, logger: h.logger });
    await h.runOnce(src, p, 'items', { deps: { ...deps, registry: reg } });
    return reg;
  };
  const count = async (reg: Registry, name: string, pipeline: string): Promise<number> =>
    (await (reg.getSingleMetric(name) as Counter).get()).values.find((v) => v.labels.pipeline === pipeline)?.value ?? 0;
  const landed = async (p: Pipeline): Promise<number> =>
    new Set((await h.env.raw(p.name, 'items')).flatMap((m) => m.records.map((r) => r.id))).size;
  /** Most requests the API received in any window of its quota's length. */
  const peak = (): number => {
    const at = fake.requests.map((r) => r.at).sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; i < at.length; i++) {
      while (at[i]! - at[j]! >= QUOTA.perMs) j++;
      most = Math.max(most, i - j + 1);
    }
    return most;
  };

  it('a budget at the quota with a margin gets no 429, and its use is counted', async () => {
    const p = pipeline('budget_margin', '{ requests: 10, per: 500ms, margin: 0.2 }');
    const reg = await run(p);
    expect(await landed(p)).toBe(ITEMS);
    expect(fake.rateLimited).toBe(0);
    expect(await count(reg, 'tributary_rest_rate_limited_total', p.name)).toBe(0);
    expect(await count(reg, 'tributary_rest_budget_taken_total', p.name)).toBe(fake.requests.length);
    // Counted when granted, seen when arrived: a loaded machine shifts a few; the margin absorbs it.
    expect(peak()).toBeLessThanOrEqual(QUOTA.requests);
  });

  it('a budget above what the API grants gets 429s, counted in tributary_rest_rate_limited_total, and still lands every record', async () => {
    // The key's owner was promised 12 per 500 ms; the API grants 10. No margin covers the difference.
    const p = pipeline('budget_over', '{ requests: 12, per: 500ms }');
    const reg = await run(p);
    expect(await landed(p)).toBe(ITEMS);
    expect(fake.rateLimited).toBeGreaterThan(0);
    expect(await count(reg, 'tributary_rest_rate_limited_total', p.name)).toBe(fake.rateLimited);
    expect(await count(reg, 'tributary_rest_budget_wait_seconds_total', p.name)).toBeGreaterThan(0);
  });

  it('two pipelines declaring the same API key share one budget: together within one quota, no 429', async () => {
    const a = pipeline('budget_a', '{ requests: 10, per: 500ms, margin: 0.2 }');
    const b = pipeline('budget_b', '{ requests: 10, per: 500ms, margin: 0.2 }');
    await Promise.all([run(a), run(b)]);
    expect(await landed(a)).toBe(ITEMS);
    expect(await landed(b)).toBe(ITEMS);
    // Each alone may send 8 per 500 ms; two separate budgets would send 16 and meet 429s.
    expect(fake.rateLimited).toBe(0);
    // Counted when granted, seen when arrived: a loaded machine shifts a few; the margin absorbs it.
    expect(peak()).toBeLessThanOrEqual(QUOTA.requests);
  });
});

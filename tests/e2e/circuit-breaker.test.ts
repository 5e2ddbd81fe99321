/**
 * The circuit breaker against the whole stack (real nats-server, PostgreSQL and the four
 * services, two transformer replicas): a pipeline whose records fail in the transformer at a high
 * rate is paused (KV `pause.<pipeline>`, shared by both replicas) instead of dead-lettering
 * everything; the status API, `tributary status` and `tributary pipelines status` say why, the
 * alert TributaryCircuitBreakerOpen fires, records pushed after the trip wait in the raw stream
 * (nothing more is dead-lettered than what was in flight); an operator's resume lets them through.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, spawnService, waitFor, ServiceProcess } from '@tributary/testkit';
import { Stack } from './stack';

jest.setTimeout(240_000);
const ROOT = path.resolve(__dirname, '../..');
const TOKEN = 'circuit-breaker-admin-token';

const SPEC = `
pipeline: orders
circuit_breaker: { failure_rate: 0.5, min_records: 100, window: 60s }
sources:
  shop: { kind: push }
datasets:
  clean_orders:
    from: shop
    fields: { order_id: string, amount: number }
    steps: [{ validate: { schema: order.json } }]
tables:
  fact_order: { from: clean_orders, mode: append, key: [order_id] }
`;
const SCHEMA = { type: 'object', required: ['order_id', 'amount'], properties: { amount: { type: 'number', minimum: 0 } } };

/** `n` records from `from`, bad ones (negative amount) where `bad(i)`. */
const ndjson = (from: number, n: number, bad: (i: number) => boolean): string =>
  Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return JSON.stringify({ order_id: `o-${i}`, amount: bad(i) ? -1 : i });
  }).join('\n');

describe('circuit breaker', () => {
  let stack: Stack;
  let second: ServiceProcess | undefined;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-breaker-'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'orders.yaml'), SPEC);
    writeFileSync(path.join(dir, 'order.json'), JSON.stringify(SCHEMA));
    stack = await Stack.start({
      pipelines: dir,
      env: { MONITOR_ADMIN_TOKEN: TOKEN, MONITOR_ALERT_INTERVAL: '500ms', MONITOR_ALERT_FOR: '1s', TRANSFORMER_PAUSE_POLL: '250ms' },
    });
    // A second transformer replica: the pause must stop both.
    second = await spawnService({
      name: 'transformer-2',
      script: path.join(ROOT, 'services/transformer/dist/main.js'),
      env: { ...stack.env, TRANSFORMER_PORT: String(await freePort()) },
    });
  }, 240_000);
  afterAll(async () => {
    await second?.stop();
    await second?.cleanup();
    await stack?.stopAll();
  });

  it('pauses a pipeline whose records fail at a high rate, alerts, holds new records, and goes on when resumed', async () => {
    const dlq = async (): Promise<number> =>
      Number((await stack.query(`SELECT count(*)::int AS n FROM tributary.dead_letters WHERE pipeline = 'orders'`))[0]!.n);
    const loaded = async (): Promise<number> => Number((await stack.query('SELECT count(*)::int AS n FROM warehouse.fact_order'))[0]!.n);

    // Mostly bad: 9 of 10 records fail the validate step, in many small messages.
    for (let b = 0; b < 10; b++)
      expect(
        (
          await stack.push(
            'shop',
            ndjson(b * 20, 20, (i) => i % 10 !== 0),
            {},
            'orders',
          )
        ).status,
      ).toBe(202);
    await waitFor(async () => Boolean((await stack.status('orders')).paused), { timeoutMs: 60_000, what: 'the pipeline paused' });
    const status = await stack.status('orders');
    expect(status.paused).toMatchObject({
      by: 'circuit breaker',
      breaker: { threshold: 0.5, window_seconds: 60, code: 'TRIB_E_VALIDATION' },
    });
    expect(status.paused.summary).toMatch(
      /^paused by circuit breaker: \d+ of \d+ records failed in 60s \(\d+% > 50%\), mostly TRIB_E_VALIDATION/,
    );
    expect(status.paused.breaker.failed / status.paused.breaker.records).toBeGreaterThan(0.5);

    // The alert fires.
    await waitFor(
      async () =>
        ((await (await fetch(`${stack.url('monitor')}/api/alerts`)).json()) as { active: { alert: string; state: string }[] }).active.some(
          (a) => a.alert === 'TributaryCircuitBreakerOpen' && a.state === 'firing',
        ),
      { timeoutMs: 30_000, what: 'TributaryCircuitBreakerOpen firing' },
    );
    // The CLI says so too.
    expect((await stack.cli(['pipelines', 'status', 'orders'])).stdout).toMatch(/orders: paused by circuit breaker: /);
    const cliStatus = await stack.cli(['status', 'orders'], { MONITOR_URL: stack.url('monitor') }).catch((e: { stdout: string }) => e);
    expect(cliStatus.stdout).toMatch(/orders: paused by circuit breaker: .*`tributary pipelines resume orders`/);

    // Whatever was in flight settles; after that nothing more is dead-lettered or loaded.
    let settled = -1;
    await waitFor(
      async () => {
        const n = await dlq();
        const same = n === settled;
        settled = n;
        return same;
      },
      { timeoutMs: 30_000, intervalMs: 2_000, what: 'dead letters settled' },
    );
    const deadAtTrip = settled;
    const loadedAtTrip = await loaded();
    // What was dead-lettered is at most the first wave's bad records (180): the rest waits.
    expect(deadAtTrip).toBeLessThanOrEqual(180);
    // Pushed while paused: accepted, and they wait.
    for (let b = 10; b < 15; b++)
      expect(
        (
          await stack.push(
            'shop',
            ndjson(b * 20, 20, (i) => i % 10 !== 0),
            {},
            'orders',
          )
        ).status,
      ).toBe(202);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await dlq()).toBe(deadAtTrip);
    expect(await loaded()).toBe(loadedAtTrip);
    expect((await stack.status('orders')).lag.transformer.pending).toBeGreaterThan(0);

    // An operator resumes (after fixing the cause: here, the records already sent stay as they are).
    const r = await fetch(`${stack.url('monitor')}/api/pipelines/orders/resume`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-tributary-actor': 'test operator' },
      body: '{}',
    });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { paused: unknown }).paused).toBeNull();
    // Everything pushed is handled at last: each of the 300 records loaded or dead-lettered (or the breaker trips again).
    await waitFor(async () => (await loaded()) + (await dlq()) === 300 || Boolean((await stack.status('orders')).paused), {
      timeoutMs: 60_000,
      what: 'records handled after resume',
    });
    await waitFor(async () => (await loaded()) > loadedAtTrip, { timeoutMs: 30_000, what: 'records of the second wave loaded' });
  });
});

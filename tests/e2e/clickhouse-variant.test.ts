/**
 * pipelines/variants/traffic-clickhouse.yaml end to end: the four services as processes, the
 * real-time tables in a private clickhouse-server, the speeding facts and the ledger in
 * PostgreSQL. Pushed passages (one push repeated with its key, the loader SIGKILLed and restarted
 * between pushes) land once in the ClickHouse views, the per-minute windows equal a count of the
 * records, and the monitor's invariant holds with the ClickHouse tables counted from the ledger.
 */
import path from 'node:path';
import { ClickHouseServer, ensureTestTool, waitFor } from '@tributary/testkit';
import { expected, isFiltered, isInvalid, ndjson, passage } from './passages';
import { Stack } from './stack';

jest.setTimeout(300_000);

const N = 6_000;

describe('traffic windows with ClickHouse tables', () => {
  let stack: Stack;
  let ch: ClickHouseServer;

  beforeAll(async () => {
    ensureTestTool('/usr/sbin/clickhouse-server');
    ch = await ClickHouseServer.start();
    stack = await Stack.start({
      pipelines: path.resolve(__dirname, '../../pipelines/variants/traffic-clickhouse.yaml'),
      env: { CLICKHOUSE_URL: ch.url },
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stopAll();
    await ch?.cleanup();
  });

  it('loads every valid passage once into ClickHouse and the monitor accounts for every record', async () => {
    const push = async (from: number, n: number) => {
      const r = await stack.push('gantry', ndjson(from, n), { 'idempotency-key': `ch-${from}` }, 'traffic_windows');
      expect(r.status).toBe(202);
    };
    await push(0, N / 2);
    await stack.kill('loader');
    await push(0, N / 2); // the same request again: replayed, nothing new
    await push(N / 2, N / 2);
    await stack.startService('loader');

    const exp = expected(N);
    let last: unknown;
    const s = await waitFor(
      async () => {
        const st = await stack.status('traffic_windows').catch(() => undefined);
        if (!st) return undefined;
        const lagZero = ['transformer', 'loader'].every((k) => st.lag?.[k]?.pending === 0 && st.lag?.[k]?.ack_pending === 0);
        const accounted =
          st.accepted ===
          st.tables.fact_passage_live.loaded + st.datasets.passages.filtered + st.dead_lettered.transform + st.dead_lettered.load;
        last = st;
        return lagZero && accounted && st.accepted === N - exp.invalid ? st : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500, what: 'the pipeline to settle' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last status: ${JSON.stringify(last)}; loader log: ${stack.procs.get('loader')?.logTail(20)}`);
    });
    expect(s.tables.fact_passage_live.loaded).toBe(exp.loaded);
    expect(s.dead_lettered.load).toBe(0);

    const [live] = await ch.query<{ n: string; d: string }>(
      'SELECT count() AS n, uniqExact(event_id) AS d FROM warehouse.fact_passage_live',
    );
    expect(live).toEqual({ n: String(exp.loaded), d: String(exp.loaded) });

    // Per gantry and minute: the records behind each window row, counted here from the pushed data.
    const want = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      if (isInvalid(i) || isFiltered(i)) continue;
      const p = passage(i);
      const minute = new Date(Math.floor(Date.parse(p.observed_at as string) / 60_000) * 60_000)
        .toISOString()
        .slice(0, 19)
        .replace('T', ' ');
      const k = `${minute}|${p.gantry_id as string}`;
      want.set(k, (want.get(k) ?? 0) + 1);
    }
    const rows = await ch.query<{ window_start: string; gantry_id: string; vehicles: string; record_count: string }>(
      'SELECT window_start, gantry_id, vehicles, record_count FROM warehouse.agg_gantry_minute',
    );
    expect(new Map(rows.map((r) => [`${r.window_start}|${r.gantry_id}`, Number(r.vehicles)]))).toEqual(want);
    expect(rows.every((r) => r.vehicles === r.record_count)).toBe(true);
    const [quarter] = await ch.query<{ n: string }>('SELECT sum(record_count) AS n FROM warehouse.agg_gantry_quarter');
    // Hopping 15m windows advancing by 1m: each record is in 15 windows.
    expect(Number(quarter!.n)).toBe(exp.loaded * 15);
    const [{ speeding }] = await stack.query('SELECT count(*)::int AS speeding FROM warehouse.fact_speeding');
    expect(speeding).toBe(s.tables.fact_speeding.loaded);
  });
});

/**
 * Report queries shared by every viewer and re-run as the refresh policy allows, against a real
 * PostgreSQL: many pages asking at once get one run; a result is kept until a load commits to a
 * table the query reads; then it re-runs at most once per max(floor, factor × its run time), and
 * until then it is served as stale with the time it may re-run; a report's front matter overrides
 * the policy; re-runs caused by loads, all reports together, keep to their share of a connection.
 */
import { parseReport } from '@tributary/contract/reports';
import { PostgresServer, stopAll } from '@tributary/testkit';
import { Pool } from 'pg';
import { ReportRunner, type TableLoad } from '../src/reports/report-data';
import type { QueryResult } from '../src/reports/query-runner';

let pg: PostgresServer;
let pool: Pool;
const loads = new Map<string, TableLoad>();
const feeds = new Map([['t', [{ pipeline: 'p', table: 't' }]]]);

/** A load of `n` rows into warehouse.t, and what the status snapshot would then say. */
async function load(n: number): Promise<void> {
  await pool.query(`INSERT INTO warehouse.t SELECT g FROM generate_series(1, $1) g`, [n]);
  const l = loads.get('p.t') ?? { loaded: 0, last_loaded_at: null, newest_ingested_at: null };
  const now = new Date().toISOString();
  loads.set('p.t', { loaded: l.loaded + n, last_loaded_at: now, newest_ingested_at: now });
}

const report = (front = '', sql = 'SELECT count(*)::int AS n FROM t, pg_sleep(0.05)') =>
  parseReport('/reports/r.md', 'r', `---\ntitle: R\npipelines: [p]\n${front}---\n\`\`\`sql q\n${sql}\n\`\`\`\n`);

function runner(opts: { floorMs: number; factor: number; share: number }): ReportRunner {
  return new ReportRunner(
    pool,
    { statementTimeoutMs: 5_000, maxRows: 100, role: 'postgres' },
    {
      loads: () => Promise.resolve(loads),
      feeds: () => feeds,
      policy: { floorMs: opts.floorMs, factor: opts.factor },
      share: opts.share,
    },
  );
}

type Served = QueryResult & { ran_at: string; as_of: string | null; stale: boolean; next_at: string | null };
const ask = async (r: ReportRunner, rep: ReturnType<typeof report>, version = 1): Promise<Served> =>
  (await r.data(rep, version, ['q'], {})).results.q as Served;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  pg = await PostgresServer.start();
  pool = new Pool({ connectionString: await pg.createDatabase('refresh'), max: 4 });
  pool.on('error', () => undefined);
  await pool.query('CREATE SCHEMA warehouse; CREATE TABLE warehouse.t (x int)');
  await load(10);
});
afterAll(async () => {
  await pool?.end();
  await stopAll();
});

describe('report queries shared by every viewer', () => {
  it('gives five pages asking at once one run, and keeps it while no load commits', async () => {
    const r = runner({ floorMs: 0, factor: 1, share: 1 });
    const rep = report();
    const five = await Promise.all(Array.from({ length: 5 }, () => ask(r, rep)));
    expect(r.shared.counts.runs).toBe(1);
    expect(new Set(five.map((x) => x.ran_at)).size).toBe(1);
    expect(five[0]).toMatchObject({ rows: [[10]], stale: false, next_at: null, as_of: loads.get('p.t')!.newest_ingested_at });
    // Rows written without a load the monitor saw: nothing to re-run for.
    await pool.query('INSERT INTO warehouse.t VALUES (0)');
    await expect(ask(r, rep)).resolves.toMatchObject({ rows: [[10]], stale: false });
    expect(r.shared.counts.runs).toBe(1);
    await pool.query('DELETE FROM warehouse.t WHERE x = 0');
    // Another version of the report file, or other inputs, is another result.
    await ask(r, rep, 2);
    expect(r.shared.counts.runs).toBe(2);
    r.close();
  });

  it('re-runs after a load, at most once per max(floor, factor × run time), serving the held-back result as stale meanwhile', async () => {
    const r = runner({ floorMs: 600, factor: 1, share: 1 });
    const rep = report();
    const first = await ask(r, rep);
    await load(5);
    const held = await ask(r, rep);
    expect(held).toMatchObject({ rows: first.rows, stale: true, ran_at: first.ran_at });
    const nextAt = Date.parse(held.next_at!);
    expect(nextAt).toBeGreaterThanOrEqual(Date.parse(first.ran_at) + 600);
    expect(r.shared.counts.runs).toBe(1);
    await sleep(nextAt - Date.now() + 20);
    const fresh = await ask(r, rep);
    expect(fresh).toMatchObject({ rows: [[Number(first.rows[0]![0]) + 5]], stale: false, next_at: null });
    expect(r.shared.counts.runs).toBe(2);
    r.close();
  });

  it('runs a first run with parallel workers allowed, and re-runs caused by loads on one core', async () => {
    const r = runner({ floorMs: 0, factor: 1, share: 1 });
    const rep = report('', "SELECT count(*)::int AS n, current_setting('max_parallel_workers_per_gather') AS workers FROM t");
    const first = await ask(r, rep);
    expect(first.rows[0]![1]).not.toBe('0');
    await load(1);
    await sleep(first.ms * 2 + 50);
    await expect(ask(r, rep)).resolves.toMatchObject({ stale: false, rows: [[Number(first.rows[0]![0]) + 1, '0']] });
    r.close();
  });

  it('holds a slow query back for factor × its run time, and a report may set its own floor and factor', async () => {
    const slow = report('', 'SELECT count(*)::int AS n FROM t, pg_sleep(0.3)');
    const r = runner({ floorMs: 0, factor: 5, share: 1 });
    const first = await ask(r, slow);
    expect(first.ms).toBeGreaterThanOrEqual(300);
    await load(1);
    const held = await ask(r, slow);
    expect(held.stale).toBe(true);
    // Not before the end of its run plus five times its run time.
    expect(Date.parse(held.next_at!) - (Date.parse(first.ran_at) + first.ms)).toBeGreaterThanOrEqual(5 * first.ms - 5);

    // The report's front matter: no floor, factor 1 — due again right after its run.
    const own = report('refresh_floor: 0ms\nrefresh_factor: 1\n', 'SELECT count(*)::int AS n FROM t, pg_sleep(0.3)');
    expect(own.problems).toEqual([]);
    const a = await ask(r, own, 7);
    await load(1);
    await sleep(a.ms + 50);
    await expect(ask(r, own, 7)).resolves.toMatchObject({ stale: false, rows: [[Number(a.rows[0]![0]) + 1]] });
    r.close();
  });

  it('keeps re-runs caused by loads, all queries together, to their share of one connection', async () => {
    const r = runner({ floorMs: 0, factor: 1, share: 0.25 });
    const reps = [1, 2, 3].map(() => report('', 'SELECT count(*)::int AS n FROM t, pg_sleep(0.2)'));
    // Three queries (three report versions), first runs not held back: all at once.
    await Promise.all(reps.map((rep, i) => ask(r, rep, 10 + i)));
    expect(r.shared.counts.runs).toBe(3);
    await load(1);
    // Past each query's own bound (factor 1: its run time after its end).
    await sleep(1_000);
    const t0 = Date.now();
    const answers = await Promise.all(reps.map((rep, i) => ask(r, rep, 10 + i)));
    // The lane runs one re-run at once; the others stay stale, due after it and its rest (3 × its time).
    expect(answers.filter((a) => !a.stale)).toHaveLength(1);
    expect(r.shared.counts.refreshes).toBe(1);
    const held = answers.filter((a) => a.stale);
    for (const a of held) expect(Date.parse(a.next_at!) - t0).toBeGreaterThanOrEqual(3 * 200);
    // Asked again when due, the queued re-runs have run, one at a time with a rest between.
    const until = Math.max(...held.map((a) => Date.parse(a.next_at!)));
    await sleep(until - Date.now() + 2_000);
    const later = await Promise.all(reps.map((rep, i) => ask(r, rep, 10 + i)));
    expect(later.every((a) => !a.stale)).toBe(true);
    expect(r.shared.counts.refreshes).toBe(3);
    const starts = later.map((a) => Date.parse(a.ran_at)).sort((x, y) => x - y);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(3 * 200);
    r.close();
  });
});

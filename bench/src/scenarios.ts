/**
 * The scenarios beyond the push path: window aggregation, an SCD2 dimension load, two
 * transformer + two loader replicas, a large table and several pipelines at once. Each checks its result is exact (a fast wrong answer is not
 * a result) and reports records/s and CPU per million records per process.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from 'pg';
import type { Measured } from './baselines';
import { treeCpuSeconds } from './proc-stats';
import { ndjsonBatches } from './records';
import { BenchStack, ledgerInserted, migrate, push, ROOT, waitCount } from './stack';

/** A scenario's figures. */
export interface ScenarioResult extends Measured {
  cpuSecondsPerMillion: Record<string, number>;
  peakRssMiB: Record<string, number>;
  /** What was checked about the result, e.g. "sum(vehicles) = 300000". */
  checked: string;
}

type Env = Record<string, string>;

/**
 * Servers (nats-server, PostgreSQL) whose CPU every scenario reports with the services', by name
 * and pid; set once by run.ts. PostgreSQL's CPU per record is what grows when a table does.
 */
export const servers: Record<string, number> = {};

function serversCpu(): Record<string, number> {
  return Object.fromEntries(Object.entries(servers).map(([k, pid]) => [k, treeCpuSeconds(pid)]));
}

function cpuNow(stack: BenchStack): Record<string, number> {
  return { ...stack.cpu(), ...serversCpu() };
}

/** Runs one scenario's services, measures `body` (records/s, CPU per million records per process, peak RSS). */
export async function run(
  env: Env,
  scenario: string,
  replicas: number,
  /** The measured work; `checked` may be a check run after the clock stops (an exact count of the rows). */
  body: (stack: BenchStack) => Promise<{ records: number; checked: string | (() => Promise<string>) }>,
  /** Untimed set-up before the measurement. */
  prepare?: () => Promise<void>,
  /** Start the clock before the services start (a CDC snapshot begins as soon as the ingest-api does). */
  clockBeforeStart = false,
): Promise<ScenarioResult> {
  migrate(env);
  const started = performance.now();
  const servers0 = serversCpu();
  const stack = await BenchStack.start(env, scenario, replicas);
  try {
    await prepare?.();
    // With the clock started before the services, so is the CPU: the services' from zero (start-up
    // included), or the work done while they started (a CDC snapshot's) would count in the time only.
    const cpu0 = clockBeforeStart ? { ...Object.fromEntries(Object.keys(stack.cpu()).map((k) => [k, 0])), ...servers0 } : cpuNow(stack);
    const t0 = clockBeforeStart ? started : performance.now();
    const { records, checked } = await body(stack);
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = cpuNow(stack);
    return {
      records,
      seconds,
      perSecond: records / seconds,
      cpuSecondsPerMillion: BenchStack.perMillion(cpu0, cpu1, records),
      peakRssMiB: stack.peakRss(),
      checked: typeof checked === 'string' ? checked : await checked(),
    };
  } finally {
    await stack.stop();
  }
}

/** Per-gantry per-minute tumbling window (count, sum, avg, max) merged by the `aggregate` load mode. */
export function windowAggregation(db: Client, base: Env, n: number): Promise<ScenarioResult> {
  const env = { ...base, TRIBUTARY_PIPELINES: path.join(ROOT, 'bench/pipelines-window') };
  return run(env, 'window', 1, async (stack) => {
    await push(stack.ingestPort, 'benchwin', 'gantry', ndjsonBatches(n, 5_000, `w${Date.now()}`), 4);
    await waitCount(db, 'SELECT coalesce(sum(vehicles), 0) AS n FROM warehouse.agg_gantry_minute', n);
    const { rows } = await db.query<{ n: string; windows: string }>(
      'SELECT sum(vehicles) AS n, count(*) AS windows FROM warehouse.agg_gantry_minute',
    );
    if (Number(rows[0]!.n) !== n) throw new Error(`window scenario: sum(vehicles) = ${rows[0]!.n}, expected ${n}`);
    return { records: n, checked: `sum(vehicles) = ${n} over ${rows[0]!.windows} windows` };
  });
}

/** `versions` changes of each of `keys` staff members: NDJSON bodies of at most 5,000 records, per version. */
export function staffChanges(keys: number, versions: number, runId: string): string[][] {
  const t0 = Date.UTC(2026, 0, 1);
  return Array.from({ length: versions }, (_, v) => {
    const bodies: string[] = [];
    for (let s = 0; s < keys; s += 5_000) {
      const lines: string[] = [];
      for (let k = s; k < Math.min(keys, s + 5_000); k++) {
        lines.push(
          JSON.stringify({
            staff_id: k,
            first_name: `First${k}`,
            last_name: `Last${k}`,
            department: `Dept-${(k + v) % 12}`,
            email: `staff${k}.v${v}@${runId}.example`,
            updated_at: new Date(t0 + v * 86_400_000 + k).toISOString(),
          }),
        );
      }
      bodies.push(lines.join('\n'));
    }
    return bodies;
  });
}

/**
 * A type-2 dimension: every record changes a tracked column, so each closes the member's current
 * version and opens a new one. Versions of one key are pushed in order, one round of all keys at a time.
 */
export function scd2Load(db: Client, base: Env, n: number): Promise<ScenarioResult> {
  const env = { ...base, TRIBUTARY_PIPELINES: path.join(ROOT, 'bench/pipelines-scd2') };
  const versions = 5;
  const keys = Math.max(1, Math.floor(n / versions));
  const records = keys * versions;
  return run(env, 'scd2', 1, async (stack) => {
    const runId = `d${Date.now()}`;
    // One round of versions at a time (out-of-order versions are the property tests' business).
    for (const round of staffChanges(keys, versions, runId)) await push(stack.ingestPort, 'benchdim', 'staff', round, 4);
    await waitCount(db, `SELECT coalesce(sum(records), 0) AS n FROM tributary.load_ledger WHERE pipeline = 'benchdim'`, records);
    const { rows } = await db.query<{ versions: string; current: string }>(
      'SELECT count(*) AS versions, count(*) FILTER (WHERE is_current) AS current FROM warehouse.dim_staff',
    );
    if (Number(rows[0]!.versions) !== records || Number(rows[0]!.current) !== keys) {
      throw new Error(`scd2 scenario: ${rows[0]!.versions} versions and ${rows[0]!.current} current rows, expected ${records} and ${keys}`);
    }
    return { records, checked: `${records} versions, ${keys} current rows` };
  });
}

/** The push path with two transformer and two loader replicas sharing each durable consumer. */
export function twoReplicas(db: Client, base: Env, n: number): Promise<ScenarioResult> {
  return run(base, 'replicas', 2, async (stack) => {
    const before = Number((await db.query('SELECT count(*) AS n FROM warehouse.fact_passage')).rows[0].n);
    const loaded = Number((await db.query(ledgerInserted('bench', 'fact_passage'))).rows[0].n);
    await push(stack.ingestPort, 'bench', 'gantry', ndjsonBatches(n, 5_000, `r${Date.now()}`), 4);
    await waitCount(db, ledgerInserted('bench', 'fact_passage'), loaded + n);
    const checked = async (): Promise<string> => {
      const { rows } = await db.query<{ n: string; keys: string }>(
        'SELECT count(*) AS n, count(DISTINCT event_id) AS keys FROM warehouse.fact_passage',
      );
      if (Number(rows[0]!.n) !== before + n || rows[0]!.n !== rows[0]!.keys) {
        throw new Error(`replica scenario: ${rows[0]!.n} rows with ${rows[0]!.keys} distinct keys, expected ${before + n}`);
      }
      return `${n} rows added, no duplicate keys`;
    };
    return { records: n, checked };
  });
}

/** The push path again after `rows` older passages were put in the table: cost per record must not grow with table size. */
export function largeTable(db: Client, base: Env, n: number, rows: number): Promise<ScenarioResult> {
  let before = 0;
  const prefill = async (): Promise<void> => {
    await db.query(
      `INSERT INTO warehouse.fact_passage (event_id, gantry_id, plate, speed_kmh, lane, passengers, observed_at, _msg_id, _ingested_at)
       SELECT 'old-' || i, 'G' || lpad((i % 20 + 1)::text, 3, '0'), md5(i::text), 80 + i % 50, i % 4 + 1, i % 5 + 1,
              timestamptz '2026-01-01' + i * interval '1 second', 'prefill', now()
       FROM generate_series(1, $1::int) i`,
      [rows],
    );
    // A table that grew by streaming has been vacuumed as it grew; without this the insert-driven
    // autovacuum of the whole prefill runs during the measured push and is counted in PostgreSQL's CPU.
    await db.query('VACUUM (ANALYZE) warehouse.fact_passage');
    await db.query('CHECKPOINT');
    before = Number((await db.query('SELECT count(*) AS n FROM warehouse.fact_passage')).rows[0].n);
  };
  return run(
    base,
    'large-table',
    1,
    async (stack) => {
      const runId = `l${Date.now()}`;
      const loaded = Number((await db.query(ledgerInserted('bench', 'fact_passage'))).rows[0].n);
      await push(stack.ingestPort, 'bench', 'gantry', ndjsonBatches(n, 5_000, runId), 4);
      // Nothing is counted inside the measurement (the ledger says when the rows are committed):
      // a count(*) of the whole table every 100 ms cost PostgreSQL more than the load did (53 CPU s
      // per million records against 8 for the push into an empty table). Only this run's keys
      // (`<runId>-<i>`, a range of the unique index) are counted, once the clock has stopped.
      await waitCount(db, ledgerInserted('bench', 'fact_passage'), loaded + n);
      const checked = async (): Promise<string> => {
        const sql = `SELECT count(*) AS n FROM warehouse.fact_passage WHERE event_id > '${runId}-' AND event_id < '${runId}.'`;
        const rows = Number((await db.query(sql)).rows[0].n);
        if (rows !== n) throw new Error(`large-table scenario: ${rows} rows with this run's keys, expected ${n}`);
        return `${n} rows with this run's keys added to a table of ${before.toLocaleString('en-US')}`;
      };
      return { records: n, checked };
    },
    prefill,
  );
}

/** `count` copies of the bench pipeline under other names, each pushed n / count records at once. */
export async function manyPipelines(db: Client, base: Env, n: number, count: number): Promise<ScenarioResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-pipelines-'));
  cpSync(path.join(ROOT, 'bench/pipelines/schemas'), path.join(dir, 'schemas'), { recursive: true });
  const spec = readFileSync(path.join(ROOT, 'bench/pipelines/bench.yaml'), 'utf8');
  const names = Array.from({ length: count }, (_, i) => `bench_p${i + 1}`);
  for (const name of names) {
    writeFileSync(
      path.join(dir, `${name}.yaml`),
      spec.replace(/^pipeline: bench$/m, `pipeline: ${name}`).replace(/fact_passage\b/g, `fact_passage_${name}`),
    );
  }
  const per = Math.floor(n / count);
  try {
    return await run({ ...base, TRIBUTARY_PIPELINES: dir }, 'pipelines', 1, async (stack) => {
      await Promise.all(
        names.map((name, i) => push(stack.ingestPort, name, 'gantry', ndjsonBatches(per, 5_000, `m${i}-${Date.now()}`), 1)),
      );
      for (const name of names) await waitCount(db, ledgerInserted(name, `fact_passage_${name}`), per);
      const checked = async (): Promise<string> => {
        for (const name of names) {
          const rows = Number((await db.query(`SELECT count(*) AS n FROM warehouse.fact_passage_${name}`)).rows[0].n);
          if (rows !== per) throw new Error(`pipelines scenario: ${rows} rows in fact_passage_${name}, expected ${per}`);
        }
        return `${per.toLocaleString('en-US')} rows in each of ${count} pipelines' tables`;
      };
      return { records: per * count, checked };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

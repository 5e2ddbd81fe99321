/**
 * The pull-source scenarios, each against its own baseline measured in the same run on the same
 * rows: `cdc` (an initial snapshot of a source table through `postgres_cdc`, then a steady stream
 * of source transactions with inserts, updates and deletes over two tables) and `file` (CSV files
 * in a watched folder). The baselines are what a hand-written copy job gets on this machine:
 * `COPY ... TO STDOUT` from the source piped into `COPY ... FROM STDIN` in the warehouse, and the
 * CSV text streamed into `COPY ... FROM STDIN (FORMAT csv)`.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline as pump } from 'node:stream/promises';
import { PostgresServer } from '@tributary/testkit';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Measured } from './baselines';
import { percentile } from './records';
import { run, type ScenarioResult } from './scenarios';
import { ledgerInserted, waitCount } from './stack';

/** A scenario measured against a baseline of its own (the same rows, copied by hand). */
export interface SourceScenarioResult extends ScenarioResult {
  baseline: Measured & { what: string };
}

type Env = Record<string, string>;

const ORDER_COLUMNS =
  'order_id bigint PRIMARY KEY, customer_id integer NOT NULL, amount numeric(12,2) NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL';

/** Writes a pipeline file into a fresh folder and returns the folder. */
function pipelineDir(name: string, yaml: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `bench-${name}-`));
  writeFileSync(path.join(dir, `${name}.yaml`), yaml);
  return dir;
}

/** One source scenario: `body` waits for the rows and says what it checked. */
const measure = (
  env: Env,
  scenario: string,
  records: number,
  /** The measured wait; what it returns (a check run after the clock stops, or its text) is `checked`. */
  body: () => Promise<string | (() => Promise<string>)>,
  clockBeforeStart = false,
): Promise<ScenarioResult> => run(env, scenario, 1, async () => ({ records, checked: await body() }), undefined, clockBeforeStart);

/** Throws unless `warehouse.<table>` holds exactly `rows` rows (run after the clock stops). */
async function expectCount(db: Client, table: string, rows: number): Promise<void> {
  const n = Number((await db.query(`SELECT count(*) AS n FROM warehouse.${table}`)).rows[0].n);
  if (n !== rows) throw new Error(`warehouse.${table} holds ${n} rows, expected ${rows}`);
}

/** COPY of `sql`'s rows out of `sourceUrl` straight into `table` of the warehouse. */
async function copyAcross(sourceUrl: string, sql: string, warehouseUrl: string, table: string, columns: string): Promise<Measured> {
  const src = new Client({ connectionString: sourceUrl });
  const dst = new Client({ connectionString: warehouseUrl });
  await Promise.all([src.connect(), dst.connect()]);
  try {
    await dst.query(`DROP TABLE IF EXISTS warehouse.${table}; CREATE TABLE warehouse.${table} (${columns})`);
    const t0 = performance.now();
    await pump(src.query(copyTo(`COPY (${sql}) TO STDOUT`)), dst.query(copyFrom(`COPY warehouse.${table} FROM STDIN`)));
    const seconds = (performance.now() - t0) / 1000;
    const n = Number((await dst.query(`SELECT count(*) AS n FROM warehouse.${table}`)).rows[0].n);
    await dst.query(`DROP TABLE warehouse.${table}`);
    return { records: n, seconds, perSecond: n / seconds };
  } finally {
    await Promise.all([src.end(), dst.end()]);
  }
}

const cdcPipeline = `
pipeline: benchcdc
connections:
  oltp: { kind: postgres, url: env:BENCH_SOURCE_DB_URL }
sources:
  oltp: { kind: postgres_cdc, connection: oltp, tables: [public.orders, public.order_lines] }
datasets:
  orders:
    from: oltp
    fields:
      order_id: { type: integer, required: true }
      customer_id: integer
      amount: number
      status: string
      created_at: timestamp
    steps:
      - filter: "_table = 'public.orders'"
  order_lines:
    from: oltp
    fields:
      line_id: { type: integer, required: true }
      order_id: integer
      quantity: integer
      created_at: timestamp
    steps:
      - filter: "_table = 'public.order_lines'"
tables:
  cdc_orders: { from: orders, mode: upsert, key: [order_id] }
  cdc_order_lines: { from: order_lines, mode: upsert, key: [line_id] }
`;

/**
 * `cdc`: an initial snapshot of `rows` orders, then source transactions (an order with two lines,
 * an update of an older order and a delete of an older line each) at `rate` changes/s for
 * `seconds`, with latency from the source's commit (its `created_at`, `clock_timestamp()` inside
 * the transaction) to the warehouse row's `_loaded_at`.
 */
export async function cdc(
  warehouseUrl: string,
  db: Client,
  base: Env,
  rows: number,
  rate: number,
  seconds: number,
): Promise<SourceScenarioResult[]> {
  const source = await PostgresServer.start({ settings: { wal_level: 'logical', max_wal_senders: 4, max_replication_slots: 4 } });
  try {
    const sourceUrl = source.url('postgres');
    const s = new Client({ connectionString: sourceUrl });
    s.on('error', () => undefined); // the source is stopped under it when a step fails
    await s.connect();
    await s.query(`DROP TABLE IF EXISTS orders, order_lines;
      CREATE TABLE orders (${ORDER_COLUMNS});
      CREATE TABLE order_lines (line_id bigint PRIMARY KEY, order_id bigint NOT NULL, quantity integer NOT NULL, created_at timestamptz NOT NULL)`);
    await s.query(`INSERT INTO orders SELECT g, g % 5000, (g % 100000) / 100.0, 'new', now() FROM generate_series(1, $1) g`, [rows]);
    const baseline = {
      ...(await copyAcross(sourceUrl, 'SELECT * FROM orders', warehouseUrl, 'bench_copy_orders', ORDER_COLUMNS)),
      what: `COPY of the ${rows.toLocaleString('en-US')} source rows into the warehouse`,
    };
    const env = { ...base, TRIBUTARY_PIPELINES: pipelineDir('benchcdc', cdcPipeline), BENCH_SOURCE_DB_URL: sourceUrl };
    const snapshot = await measure(
      env,
      'cdc-snapshot',
      rows,
      async () => {
        await waitCount(db, ledgerInserted('benchcdc', 'cdc_orders'), rows);
        return async () => {
          await expectCount(db, 'cdc_orders', rows);
          return `${rows.toLocaleString('en-US')} snapshot rows in warehouse.cdc_orders`;
        };
      },
      true,
    );

    // The stream: the stack is started again on the same slot; the snapshot is done.
    const perTxn = 5; // an order, two lines, one update, one delete
    const txns = Math.round((rate * seconds) / perTxn);
    let next = rows + 1;
    let line = 1;
    let offeredRate = 0;
    const stream = await measure(env, 'cdc-stream', txns * perTxn, async () => {
      const since = new Date();
      const t0 = performance.now();
      const writers = 4;
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          const c = new Client({ connectionString: sourceUrl });
          await c.connect();
          for (let i = w; i < txns; i += writers) {
            const due = t0 + (i * perTxn * 1000) / rate;
            const wait = due - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            const id = next++;
            const l = line;
            line += 2;
            await c.query(`BEGIN;
              INSERT INTO orders VALUES (${id}, ${id % 5000}, ${(id % 100000) / 100}, 'new', clock_timestamp());
              INSERT INTO order_lines VALUES (${l}, ${id}, 1, clock_timestamp()), (${l + 1}, ${id}, 2, clock_timestamp());
              UPDATE orders SET status = 'paid' WHERE order_id = ${1 + (id % rows)};
              DELETE FROM order_lines WHERE line_id = ${Math.max(1, l - 200)};
              COMMIT`);
          }
          await c.end();
        }),
      );
      const offered = (performance.now() - t0) / 1000;
      offeredRate = (txns * perTxn) / offered;
      // Each source transaction inserts one order (its update and delete touch snapshot rows):
      // wait on the ledger for them, and count and time the rows once the clock has stopped.
      await waitCount(db, ledgerInserted('benchcdc', 'cdc_orders'), rows + txns);
      return async () => {
        const n = Number((await db.query('SELECT count(*) AS n FROM warehouse.cdc_orders WHERE order_id > $1', [rows])).rows[0].n);
        if (n !== txns) throw new Error(`warehouse.cdc_orders holds ${n} streamed orders, expected ${txns}`);
        const lat = await db.query<{ ms: number }>(
          `SELECT extract(epoch FROM (_loaded_at - created_at)) * 1000 AS ms FROM warehouse.cdc_orders WHERE order_id > $1 AND _loaded_at >= $2 ORDER BY 1`,
          [rows, since],
        );
        const ms = lat.rows.map((r) => Number(r.ms));
        // Where the time goes, per message of cdc_orders (ledger): from the oldest commit in it to
        // the ingest-api's publish, and from there to the warehouse commit.
        const parts = await db.query<{ ingest: number; load: number }>(
          `SELECT extract(epoch FROM (ingested_at - source_time)) * 1000 AS ingest, extract(epoch FROM (loaded_at - ingested_at)) * 1000 AS load
           FROM tributary.load_ledger WHERE pipeline = 'benchcdc' AND table_name = 'cdc_orders' AND loaded_at >= $1`,
          [since],
        );
        const p = (xs: number[]): string =>
          [50, 95, 99]
            .map((q) =>
              percentile(
                xs.sort((a, b) => a - b),
                q,
              ).toFixed(0),
            )
            .join('/');
        return (
          `${txns.toLocaleString('en-US')} source transactions (${(txns * perTxn).toLocaleString('en-US')} changes) written in ${offered.toFixed(1)} s ` +
          `(${Math.round((txns * perTxn) / offered).toLocaleString('en-US')} changes/s offered); commit to warehouse p50/p95/p99 ${p(ms)} ms; ` +
          `per message (${parts.rows.length}), commit to ingest publish ${p(parts.rows.map((r) => Number(r.ingest)))} ms, publish to warehouse ${p(parts.rows.map((r) => Number(r.load)))} ms`
        );
      };
    });
    await s.end();
    return [
      { ...snapshot, baseline },
      {
        ...stream,
        baseline: {
          records: txns * perTxn,
          seconds,
          perSecond: rate,
          // The writers share the two cores with the stack and may fall short of the target.
          what: `the target rate, ${rate.toLocaleString('en-US')} changes/s (its writers offered ${Math.round(offeredRate).toLocaleString('en-US')})`,
        },
      },
    ];
  } finally {
    await source.stop();
  }
}

const filePipeline = (folder: string): string => `
pipeline: benchfile
sources:
  drop: { kind: file, path: "${folder}", format: csv, schedule: { every: 200ms }, min_age: 0ms }
datasets:
  orders:
    from: drop
    fields:
      order_id: { type: integer, required: true }
      customer_id: integer
      amount: number
      status: string
      created_at: timestamp
tables:
  file_orders: { from: orders, mode: append, key: [order_id] }
`;

/** `file`: `rows` CSV rows in ten files dropped into a watched folder. */
export async function file(warehouseUrl: string, db: Client, base: Env, rows: number): Promise<SourceScenarioResult> {
  const folder = mkdtempSync(path.join(tmpdir(), 'bench-file-'));
  // Files are written here, then renamed into the watched folder (same file system), so the
  // source sees each one whole.
  const staging = mkdtempSync(path.join(tmpdir(), 'bench-file-staging-'));
  const files = 10;
  const texts: string[] = [];
  for (let f = 0; f < files; f++) {
    const lines = ['order_id,customer_id,amount,status,created_at'];
    for (let i = Math.floor((f * rows) / files); i < Math.floor(((f + 1) * rows) / files); i++) {
      lines.push(`${i + 1},${i % 5000},${((i % 100000) / 100).toFixed(2)},new,2026-12-06T10:11:12.345Z`);
    }
    texts.push(`${lines.join('\n')}\n`);
  }
  try {
    const c = new Client({ connectionString: warehouseUrl });
    await c.connect();
    await c.query(`DROP TABLE IF EXISTS warehouse.bench_copy_csv; CREATE TABLE warehouse.bench_copy_csv (${ORDER_COLUMNS})`);
    const t0 = performance.now();
    for (const text of texts) await pump([text], c.query(copyFrom('COPY warehouse.bench_copy_csv FROM STDIN (FORMAT csv, HEADER true)')));
    const copySeconds = (performance.now() - t0) / 1000;
    await c.query('DROP TABLE warehouse.bench_copy_csv');
    await c.end();
    const baseline = { records: rows, seconds: copySeconds, perSecond: rows / copySeconds, what: 'COPY of the same CSV text' };

    const env = { ...base, TRIBUTARY_PIPELINES: pipelineDir('benchfile', filePipeline(folder)) };
    const result = await measure(env, 'file', rows, async () => {
      texts.forEach((text, f) => writeFileSync(path.join(staging, `orders-${f}.csv`), text));
      for (let f = 0; f < files; f++) renameSync(path.join(staging, `orders-${f}.csv`), path.join(folder, `orders-${f}.csv`));
      await waitCount(db, ledgerInserted('benchfile', 'file_orders'), rows);
      return async () => {
        await expectCount(db, 'file_orders', rows);
        return `${rows.toLocaleString('en-US')} rows from ${files} files in warehouse.file_orders`;
      };
    });
    return { ...result, baseline };
  } finally {
    rmSync(folder, { recursive: true, force: true });
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Warehouse DDL against a real PostgreSQL: a compatible spec change adds columns, an incompatible
 * one (type, key, mode) stops only that table, recorded in tributary.table_status; generated
 * dimensions; models (view, table, incremental) recorded in tributary.model_runs.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PostgresServer, stopAll } from '@tributary/testkit';
import { Pool } from 'pg';
import { BOOKKEEPING_DDL } from '../src/bookkeeping';
import { ensureWarehouse } from '../src/ensure-warehouse';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { runModels } from '../src/models/model-runner';

let pg: PostgresServer;
let pool: Pool;
const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-evolve-'));

function spec(fields: string, tables: string, extra = ''): Pipeline {
  writeFileSync(
    path.join(dir, 'p.yaml'),
    `pipeline: shop\nsources:\n  in: { kind: push }\ndatasets:\n  d:\n    from: in\n    fields: { ${fields} }\ntables:\n${tables}\n${extra}`,
  );
  return loadPipelineFile(path.join(dir, 'p.yaml'));
}

async function migrate(p: Pipeline) {
  const c = await pool.connect();
  try {
    return await ensureWarehouse(c, p);
  } finally {
    c.release();
  }
}

beforeAll(async () => {
  pg = await PostgresServer.start();
  pool = new Pool({ connectionString: await pg.createDatabase('evolve'), max: 2 });
  pool.on('error', () => undefined); // idle connections cut when the server stops at the end
  await pool.query(BOOKKEEPING_DDL);
});
afterAll(async () => {
  await pool?.end();
  await stopAll();
});

describe('schema evolution', () => {
  const TABLES = '  a: { from: d, mode: upsert, key: [id] }\n  b: { from: d, mode: scd2, key: [id] }';

  it('adds a column for a new field and stops only a table whose change is incompatible', async () => {
    expect((await migrate(spec('id: string, n: integer', TABLES))).stopped).toEqual([]);
    const evolved = await migrate(spec('id: string, n: integer, extra: string', TABLES));
    expect(evolved.actions).toEqual(expect.arrayContaining(['added column a.extra text', 'added column b.extra text']));

    // n changes type: both tables stop; a changes its key too; and a third, new table goes on.
    const r = await migrate(spec('id: string, n: string, extra: string', `${TABLES}\n  c: { from: d, mode: append }`));
    expect(r.stopped.map((s) => s.table)).toEqual(['a', 'b']);
    expect(r.stopped[0]!.message).toMatch(
      /table warehouse\.a stopped, incompatible schema change: column a\.n is bigint in the warehouse but text/,
    );
    expect(r.actions).toContain('created table warehouse.c');
    const status = (await pool.query(`SELECT table_name, status FROM tributary.table_status ORDER BY 1`)).rows;
    expect(status).toEqual([
      { table_name: 'a', status: 'incompatible' },
      { table_name: 'b', status: 'incompatible' },
      { table_name: 'c', status: 'ok' },
    ]);
  });

  it('reports a changed key and a changed mode as incompatible', async () => {
    const r = await migrate(
      spec(
        'id: string, n: integer, extra: string',
        '  a: { from: d, mode: upsert, key: [extra] }\n  c: { from: d, mode: scd2, key: [id] }',
      ),
    );
    expect(r.stopped.map((s) => s.message).join('\n')).toMatch(/key of a is \(id\) in the warehouse but \(extra\)/);
    expect(r.stopped.map((s) => s.message).join('\n')).toMatch(/column c\.c_sk \(needed by mode scd2\) is missing/);
  });
});

describe('generated dimensions and models', () => {
  it('creates dim_date and dim_time, and runs view, table and incremental models in order', async () => {
    const models = dir;
    writeFileSync(path.join(models, 'v.sql'), "SELECT id, n FROM {{ ref('m') }} WHERE n > 0");
    writeFileSync(path.join(models, 't.sql'), "SELECT count(*) AS n FROM {{ ref('v') }}");
    writeFileSync(
      path.join(models, 'i.sql'),
      "SELECT id, n FROM {{ ref('m') }} {% if is_incremental() %} WHERE n > (SELECT coalesce(max(n), 0) FROM {{ this }}) {% endif %}",
    );
    const p = spec(
      'id: string, n: integer',
      '  m: { from: d, mode: append }',
      `dimensions:\n  dim_date: { kind: date, start: '2024-01-01', end: '2024-12-31' }\n  dim_time: { kind: time_of_day }\nmodels:\n  t: { sql: t.sql, materialized: table }\n  v: { sql: v.sql }\n  i: { sql: i.sql, materialized: incremental, unique_key: [id] }\n`,
    );
    expect(p.warehouse!.models.map((m) => m.name)).toEqual(['v', 't', 'i']);
    await migrate(p);
    const d = (
      await pool.query(`SELECT count(*)::int AS n, min(day_name) FILTER (WHERE date_id = '2024-02-29') AS leap FROM warehouse.dim_date`)
    ).rows[0];
    expect(d).toEqual({ n: 366, leap: 'Thursday' });
    expect((await pool.query('SELECT count(*)::int AS n FROM warehouse.dim_time')).rows[0].n).toBe(1440);

    await pool.query(`INSERT INTO warehouse.m (id, n, _msg_id) VALUES ('a', 1, 'x'), ('b', 0, 'x')`);
    expect((await runModels(pool, 'shop', p.warehouse!.models, 'test')).map((r) => r.status)).toEqual(['success', 'success', 'success']);
    await pool.query(`INSERT INTO warehouse.m (id, n, _msg_id) VALUES ('c', 5, 'y')`);
    expect((await runModels(pool, 'shop', p.warehouse!.models, 'test')).map((r) => [r.model, r.status, r.rows])).toEqual([
      ['v', 'unchanged', 0],
      ['t', 'success', 1],
      ['i', 'success', 1],
    ]);
    expect((await pool.query('SELECT n::int FROM warehouse.t')).rows).toEqual([{ n: 2 }]);
    expect((await pool.query('SELECT id FROM warehouse.i ORDER BY id')).rows.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    const runs = (await pool.query(`SELECT model, status FROM tributary.model_runs ORDER BY id`)).rows;
    expect(runs).toHaveLength(5);
  });
});

describe('bookkeeping evolution', () => {
  it('gives a load ledger made before the load counts their columns, NULL on its old rows, and is idempotent', async () => {
    const old = new Pool({ connectionString: await pg.createDatabase('old_ledger'), max: 1 });
    old.on('error', () => undefined);
    try {
      await old.query(`CREATE SCHEMA tributary; CREATE TABLE tributary.load_ledger (
        pipeline text NOT NULL, table_name text NOT NULL, msg_id text NOT NULL, dataset text NOT NULL, stream_seq bigint,
        records integer NOT NULL, written integer NOT NULL, skipped integer NOT NULL, ingested_at timestamptz,
        loaded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (pipeline, table_name, msg_id))`);
      await old.query(
        `INSERT INTO tributary.load_ledger (pipeline, table_name, msg_id, dataset, records, written, skipped) VALUES ('p', 't', 'm', 'd', 3, 2, 1)`,
      );
      await old.query(BOOKKEEPING_DDL);
      await old.query(BOOKKEEPING_DDL);
      const row = (await old.query(`SELECT records, written, inserted, updated, unchanged, skipped FROM tributary.load_ledger`)).rows;
      expect(row).toEqual([{ records: 3, written: 2, inserted: null, updated: null, unchanged: null, skipped: 1 }]);
    } finally {
      await old.end();
    }
  });
});

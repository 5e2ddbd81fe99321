/**
 * Materializes models and records every run in `tributary.model_runs`. Each model runs in its own
 * transaction under an advisory lock, so loader replicas and the CLI never build one at once.
 * A table model is swapped in place (TRUNCATE + INSERT in one transaction: readers see the old
 * rows until commit); a changed column list re-creates it, and dependent views with it.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { guardClient } from '../guard-client';
import { ident, WAREHOUSE_SCHEMA, warehouseTable } from '../sql';
import { renderModelSql, type Model } from '@tributary/contract/spec';

/** What one run did. */
export interface ModelRun {
  model: string;
  status: 'success' | 'error' | 'unchanged';
  rows: number;
  error?: string;
  ms: number;
}

async function columnsOf(c: PoolClient, sql: string): Promise<string[]> {
  const r = await c.query(`SELECT * FROM (${sql}) q LIMIT 0`);
  return r.fields.map((f) => `${f.name}:${f.dataTypeID}`);
}

async function tableColumns(c: PoolClient, name: string): Promise<string[] | undefined> {
  const exists = await c.query<{ oid: string | null }>('SELECT to_regclass($1)::oid AS oid', [`${WAREHOUSE_SCHEMA}.${name}`]);
  if (!exists.rows[0]?.oid) return undefined;
  const r = await c.query(`SELECT * FROM ${warehouseTable(name)} LIMIT 0`);
  return r.fields.map((f) => `${f.name}:${f.dataTypeID}`);
}

async function materialize(c: PoolClient, m: Model, hash: string, pipeline: string): Promise<{ rows: number; unchanged?: boolean }> {
  const t = warehouseTable(m.name);
  const existing = await tableColumns(c, m.name);
  const sql = renderModelSql(m.text, warehouseTable, { self: t, incremental: existing !== undefined });
  switch (m.materialized) {
    case 'view': {
      const last = await c.query(
        `SELECT 1 FROM tributary.model_runs WHERE pipeline = $1 AND model = $2 AND status = 'success' AND sql_hash = $3 LIMIT 1`,
        [pipeline, m.name, hash],
      );
      if (existing && last.rowCount) return { rows: 0, unchanged: true };
      await c.query('SAVEPOINT replace_view');
      try {
        await c.query(`CREATE OR REPLACE VIEW ${t} AS ${sql}`);
      } catch {
        // Columns renamed or removed (CREATE OR REPLACE only appends): re-create, with dependants.
        await c.query('ROLLBACK TO SAVEPOINT replace_view');
        await c.query(`DROP VIEW IF EXISTS ${t} CASCADE`);
        await c.query(`CREATE VIEW ${t} AS ${sql}`);
      }
      return { rows: 0 };
    }
    case 'table': {
      if (existing && (await columnsOf(c, sql)).join(',') === existing.join(',')) {
        await c.query(`TRUNCATE ${t}`);
        return { rows: (await c.query(`INSERT INTO ${t} ${sql}`)).rowCount ?? 0 };
      }
      if (existing) await c.query(`DROP TABLE ${t} CASCADE`);
      return { rows: (await c.query(`CREATE TABLE ${t} AS ${sql}`)).rowCount ?? 0 };
    }
    case 'incremental': {
      if (!existing) {
        const rows = (await c.query(`CREATE TABLE ${t} AS ${sql}`)).rowCount ?? 0;
        if (m.unique_key) await c.query(`CREATE UNIQUE INDEX ${ident(`${m.name}_key`)} ON ${t} (${m.unique_key.map(ident).join(', ')})`);
        return { rows };
      }
      const cols = (await columnsOf(c, sql)).map((x) => x.split(':')[0]!);
      const list = cols.map(ident).join(', ');
      const upsert = m.unique_key
        ? ` ON CONFLICT (${m.unique_key.map(ident).join(', ')}) DO ${
            cols.some((x) => !m.unique_key!.includes(x))
              ? `UPDATE SET ${cols
                  .filter((x) => !m.unique_key!.includes(x))
                  .map((x) => `${ident(x)} = EXCLUDED.${ident(x)}`)
                  .join(', ')}`
              : 'NOTHING'
          }`
        : '';
      return { rows: (await c.query(`INSERT INTO ${t} (${list}) SELECT ${list} FROM (${sql}) q${upsert}`)).rowCount ?? 0 };
    }
  }
}

/** Runs one model and records the run (`unchanged` views are not re-created nor recorded). */
export async function runModel(pool: Pool, pipeline: string, m: Model, trigger: string): Promise<ModelRun> {
  const started = new Date();
  const hash = createHash('sha256').update(`${m.materialized}\n${m.text}`).digest('hex').slice(0, 16);
  const c = guardClient(await pool.connect());
  let run: ModelRun;
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tributary.model:${m.name}`]);
    const r = await materialize(c, m, hash, pipeline);
    await c.query('COMMIT');
    run = { model: m.name, status: r.unchanged ? 'unchanged' : 'success', rows: r.rows, ms: Date.now() - started.getTime() };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    run = { model: m.name, status: 'error', rows: 0, error: (err as Error).message, ms: Date.now() - started.getTime() };
  } finally {
    c.release();
  }
  if (run.status !== 'unchanged') {
    await pool.query(
      `INSERT INTO tributary.model_runs (pipeline, model, materialized, trigger, status, rows, error, sql_hash, started_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())`,
      [pipeline, m.name, m.materialized, trigger, run.status, run.rows, run.error ?? null, hash, started],
    );
  }
  return run;
}

/** Runs models in the order given (dependency order); a model whose input failed is still tried. */
export async function runModels(pool: Pool, pipeline: string, models: readonly Model[], trigger: string): Promise<ModelRun[]> {
  const out: ModelRun[] = [];
  for (const m of models) out.push(await runModel(pool, pipeline, m, trigger));
  return out;
}

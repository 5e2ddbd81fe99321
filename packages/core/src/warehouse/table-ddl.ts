/**
 * Warehouse tables from the spec: columns from the dataset's declared fields, plus lineage columns.
 * Existing tables evolve: new fields add nullable columns; a changed type is an error that names it.
 */
import type { Pool, PoolClient } from 'pg';
import { TributaryError } from '../errors';
import { FIELD_TYPES } from '../spec/common';
import type { Dataset, Pipeline, Table } from '../spec/pipeline';
import { ident, WAREHOUSE_SCHEMA, warehouseTable } from './sql';

/** Lineage columns every warehouse table has. */
export const META_COLUMNS = {
  _msg_id: 'text NOT NULL',
  _ingested_at: 'timestamptz',
  _loaded_at: 'timestamptz NOT NULL DEFAULT now()',
};

/** The dataset a table loads from. */
export function datasetOf(pipeline: Pipeline, table: Table): Dataset {
  const ds = pipeline.datasets.find((d) => d.name === table.from);
  if (!ds) throw new TributaryError('TRIB_E_SPEC', `table ${table.name}: unknown dataset ${table.from}`);
  return ds;
}

/** CREATE TABLE (and unique key index) statements for a table. */
export function tableDdl(pipeline: Pipeline, table: Table): string[] {
  const ds = datasetOf(pipeline, table);
  const keys = new Set(table.key ?? []);
  const cols = ds.fields.map((f) => `${ident(f.name)} ${FIELD_TYPES[f.type]}${keys.has(f.name) ? ' NOT NULL' : ''}`);
  const meta = Object.entries(META_COLUMNS).map(([n, t]) => `${ident(n)} ${t}`);
  const out = [`CREATE TABLE IF NOT EXISTS ${warehouseTable(table.name)} (\n  ${[...cols, ...meta].join(',\n  ')}\n)`];
  if (table.key) {
    out.push(
      `CREATE UNIQUE INDEX IF NOT EXISTS ${ident(`${table.name}_key`)} ON ${warehouseTable(table.name)} (${table.key.map(ident).join(', ')})`,
    );
  }
  return out;
}

const PG_TYPE_NAMES: Record<string, string> = {
  text: 'text',
  bigint: 'bigint',
  'double precision': 'double precision',
  boolean: 'boolean',
  timestamptz: 'timestamp with time zone',
  date: 'date',
  jsonb: 'jsonb',
};

/** Creates the table or evolves it: adds columns for new fields, fails on a changed type. */
export async function ensureTable(db: Pool | PoolClient, pipeline: Pipeline, table: Table): Promise<string[]> {
  const ds = datasetOf(pipeline, table);
  const existing = await db.query<{ column_name: string; data_type: string }>(
    'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
    [WAREHOUSE_SCHEMA, table.name],
  );
  const actions: string[] = [];
  if (existing.rowCount === 0) {
    for (const stmt of tableDdl(pipeline, table)) await db.query(stmt);
    actions.push(`created table ${WAREHOUSE_SCHEMA}.${table.name}`);
    return actions;
  }
  const have = new Map(existing.rows.map((r) => [r.column_name, r.data_type]));
  const problems: string[] = [];
  for (const f of ds.fields) {
    const want = PG_TYPE_NAMES[FIELD_TYPES[f.type]]!;
    const got = have.get(f.name);
    if (got === undefined) {
      await db.query(`ALTER TABLE ${warehouseTable(table.name)} ADD COLUMN IF NOT EXISTS ${ident(f.name)} ${FIELD_TYPES[f.type]}`);
      actions.push(`added column ${table.name}.${f.name} ${FIELD_TYPES[f.type]}`);
    } else if (got !== want) {
      problems.push(`column ${table.name}.${f.name} is ${got} in the warehouse but ${f.type} (${want}) in ${pipeline.file}`);
    }
  }
  if (problems.length > 0) {
    throw new TributaryError('TRIB_E_SPEC', `incompatible schema change: ${problems.join('; ')}`, {
      location: { file: pipeline.file, field: `tables.${table.name}` },
      details: problems,
    });
  }
  for (const stmt of tableDdl(pipeline, table).slice(1)) await db.query(stmt);
  return actions;
}

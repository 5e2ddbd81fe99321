/**
 * `on_drift: evolve` on the loader's side (docs/transforms.md, "Schema drift"): the transformer
 * lets a dataset's new fields through with their values; before a flush is written, a field the
 * table has no column for gets one (`ALTER TABLE ... ADD COLUMN IF NOT EXISTS`, nullable, typed
 * from its first non-null value by the contract's `inferFieldType`), in the flush's own
 * transaction, so a rollback takes the column back with the rows. The table's writer is then
 * rebuilt with the column, which every later row fills.
 */
import { evolvedColumnType, inferFieldType } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import type { Logger } from '@tributary/runtime/logger';
import { ident, warehouseTable, WAREHOUSE_SCHEMA } from '@tributary/warehouse/sql';
import type { PoolClient } from 'pg';
import type { EvolvedColumn } from './table-writer';

/** New fields of `records` with a non-null value, and the column type each would get, in first-seen order. */
export function newFields(records: Iterable<Rec>, have: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const rec of records) {
    for (const k in rec) {
      if (have.has(k) || out.has(k) || k.charCodeAt(0) === 95 /* _ */) continue;
      const t = inferFieldType(rec[k]);
      if (t) out.set(k, evolvedColumnType(t));
    }
  }
  return out;
}

/**
 * Adds the columns of `fields` the table lacks (in the open transaction on `client`) and returns
 * every one of them as the table has it (an existing column keeps its type).
 */
export async function addColumns(
  client: PoolClient,
  table: string,
  fields: ReadonlyMap<string, string>,
  logger?: Logger,
): Promise<EvolvedColumn[]> {
  for (const [name, type] of fields) {
    await client.query(`ALTER TABLE ${warehouseTable(table)} ADD COLUMN IF NOT EXISTS ${ident(name)} ${type}`);
  }
  const r = await client.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = ANY($3::text[]) AND a.attnum > 0 AND NOT a.attisdropped`,
    [WAREHOUSE_SCHEMA, table, [...fields.keys()]],
  );
  const types = new Map(r.rows.map((row) => [row.name, row.type]));
  const out = [...fields.keys()].map((name) => ({ name, pgType: types.get(name) ?? fields.get(name)! }));
  for (const c of out) {
    logger?.info(
      { table, column: c.name, type: c.pgType },
      `schema drift: evolve added column ${WAREHOUSE_SCHEMA}.${table}.${c.name} ${c.pgType}`,
    );
  }
  return out;
}

/**
 * Indexes declared in a table's `indexes:`: deterministic names (the name encodes columns, method
 * and uniqueness, so a changed definition is a new index), their DDL, and keeping a table in step
 * with the spec. Tributary marks the indexes it creates with a comment and drops only marked ones
 * that left the spec; indexes made by hand are never touched.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { TributaryError } from '@tributary/contract/errors';
import { type Table, type IndexMethod } from '@tributary/contract/spec';
import { ident, WAREHOUSE_SCHEMA, warehouseTable } from './sql';

/** A declared index with its name. */
export interface DeclaredIndex {
  name: string;
  columns: string[];
  unique: boolean;
  method: IndexMethod;
}

/** Comment on the indexes Tributary created from `indexes:`. */
export const DECLARED_INDEX_COMMENT = 'tributary: declared in the pipeline spec';

/** `<table>_<columns>[_<method>]_idx|_uniq`, cut to 54 characters plus a hash of the whole when longer than 63. */
export function declaredIndexName(table: string, ix: { columns: string[]; unique: boolean; method: IndexMethod }): string {
  const name = `${table}_${ix.columns.join('_')}${ix.method === 'btree' ? '' : `_${ix.method}`}_${ix.unique ? 'uniq' : 'idx'}`;
  if (name.length <= 63) return name;
  return `${name.slice(0, 54)}_${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/** The declared indexes of a table, named. */
export function declaredIndexes(table: Table): DeclaredIndex[] {
  return (table.indexes ?? []).map((ix) => ({
    name: declaredIndexName(table.name, ix),
    columns: [...ix.columns],
    unique: ix.unique,
    method: ix.method,
  }));
}

/** CREATE INDEX of a declared index (on a partitioned table it cascades to every partition, present and future). */
export function declaredIndexDdl(table: Table, ix: DeclaredIndex): string {
  return `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${ident(ix.name)} ON ${warehouseTable(table.name)} USING ${ix.method} (${ix.columns.map(ident).join(', ')})`;
}

/**
 * Creates the declared indexes a table lacks and drops the marked ones no longer declared; returns
 * a line per change. A unique index the rows already violate is TRIB_E_SCHEMA_INCOMPATIBLE.
 */
export async function syncDeclaredIndexes(db: Pool | PoolClient, table: Table): Promise<string[]> {
  const existing = await db.query<{ name: string; comment: string | null }>(
    `SELECT i.relname AS name, obj_description(i.oid, 'pg_class') AS comment
     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = to_regclass($1)`,
    [warehouseTable(table.name)],
  );
  const have = new Map(existing.rows.map((r) => [r.name, r.comment]));
  const want = declaredIndexes(table);
  const actions: string[] = [];
  for (const ix of want) {
    if (have.has(ix.name)) continue;
    try {
      await db.query(declaredIndexDdl(table, ix));
    } catch (err) {
      const e = err as { code?: string; message?: string; detail?: string };
      if (e.code?.startsWith('23')) {
        throw new TributaryError(
          'TRIB_E_SCHEMA_INCOMPATIBLE',
          `table ${WAREHOUSE_SCHEMA}.${table.name}: index ${ix.name} cannot be built: ${e.message}${e.detail ? ` (${e.detail})` : ''}`,
          { cause: err, details: [`index ${ix.name} cannot be built: ${e.message}`] },
        );
      }
      throw err;
    }
    await db.query(`COMMENT ON INDEX ${ident(WAREHOUSE_SCHEMA)}.${ident(ix.name)} IS '${DECLARED_INDEX_COMMENT}'`);
    actions.push(`created index ${ix.name} on ${table.name} (${ix.columns.join(', ')})`);
  }
  const names = new Set(want.map((w) => w.name));
  for (const [name, comment] of have) {
    if (comment !== DECLARED_INDEX_COMMENT || names.has(name)) continue;
    await db.query(`DROP INDEX IF EXISTS ${ident(WAREHOUSE_SCHEMA)}.${ident(name)}`);
    actions.push(`dropped index ${name} on ${table.name} (no longer declared)`);
  }
  return actions;
}

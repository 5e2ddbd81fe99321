/**
 * Warehouse tables stopped by an incompatible schema change, for the alert rules: the rows of
 * `tributary.table_status` that `migrate` (or the loader at start) marked other than `ok`. Their
 * records are dead-lettered with TRIB_E_SCHEMA_INCOMPATIBLE until the table is fixed and migrated.
 */
import type { Pool } from 'pg';
import type { BlockedTable } from './alert-rules';

/** Reads the stopped tables, with the first problem of each. */
export async function queryBlockedTables(pool: Pool): Promise<BlockedTable[]> {
  const r = await pool.query<{ pipeline: string; table_name: string; problem: string | null }>(
    `SELECT pipeline, table_name, problems->>0 AS problem FROM tributary.table_status WHERE status <> 'ok' ORDER BY pipeline, table_name`,
  );
  return r.rows.map((x) => ({ pipeline: x.pipeline, table: x.table_name, problem: (x.problem ?? '').slice(0, 200) }));
}

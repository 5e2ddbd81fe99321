/**
 * The warehouse part of `migrate` for one pipeline: tables (created or evolved, in PostgreSQL or,
 * with a `sink:`, in ClickHouse) and generated dimensions. A table with an incompatible change is
 * left as it is and recorded in `tributary.table_status` with its problems (the loader refuses to
 * start loading it, and the monitor can alert on it); the other tables go on.
 */
import type { PoolClient } from 'pg';
import { isTributaryError } from '@tributary/contract/errors';
import { type Pipeline, inPostgres } from '@tributary/contract/spec';
import { ensureGeneratedDimensions } from './calendar';
import { ensureTable } from './table-ddl';
import { migrateClickHouseTable } from './clickhouse/ensure-clickhouse-table';

/** What happened to a pipeline's warehouse: actions taken and tables stopped. */
export interface WarehouseMigration {
  actions: string[];
  /** Tables left unchanged because their change is incompatible, with the error text. */
  stopped: { table: string; message: string }[];
}

/** Creates or evolves every table of `pipeline`, one at a time, isolating incompatible ones. */
export async function ensureWarehouse(client: PoolClient, pipeline: Pipeline): Promise<WarehouseMigration> {
  const out: WarehouseMigration = { actions: [], stopped: [] };
  for (const t of pipeline.tables) {
    let status = 'ok';
    let problems: string[] = [];
    // One transaction per table: an incompatible one is rolled back whole, the others stay.
    await client.query('BEGIN');
    try {
      // A table with a ClickHouse sink lives there; its status is still recorded here.
      out.actions.push(...(inPostgres(t) ? await ensureTable(client, pipeline, t) : await migrateClickHouseTable(pipeline, t)));
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      if (!isTributaryError(err, 'TRIB_E_SCHEMA_INCOMPATIBLE')) throw err;
      status = 'incompatible';
      problems = (err.details as string[] | undefined) ?? [err.message];
      out.stopped.push({ table: t.name, message: err.message });
    }
    await client.query(
      `INSERT INTO tributary.table_status (pipeline, table_name, status, problems, checked_at) VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (pipeline, table_name) DO UPDATE SET status = EXCLUDED.status, problems = EXCLUDED.problems, checked_at = now()`,
      [pipeline.name, t.name, status, JSON.stringify(problems)],
    );
  }
  out.actions.push(...(await ensureGeneratedDimensions(client, pipeline.warehouse?.dimensions ?? {})));
  return out;
}

/**
 * Start-up check of the bookkeeping tables the monitor reads and writes (`migrate` creates them),
 * so the monitor can run without CREATE rights.
 */
import { TributaryError } from '@tributary/core';
import type { Pool } from 'pg';
import { toWarehouseError } from './warehouse-error';

const REQUIRED = ['tributary.stream_log', 'tributary.load_ledger', 'tributary.dead_letters'];

/** Fails with TRIB_E_TOPOLOGY_MISSING naming the missing tables. */
export async function prepareDatabase(pool: Pool): Promise<void> {
  let present: { name: string; found: string | null }[];
  try {
    const r = await pool.query<{ name: string; found: string | null }>(
      'SELECT name, to_regclass(name)::text AS found FROM unnest($1::text[]) AS name',
      [REQUIRED],
    );
    present = r.rows;
  } catch (err) {
    throw toWarehouseError(err, 'cannot reach PostgreSQL');
  }
  const missing = present.filter((r) => r.found === null).map((r) => `table ${r.name}`);
  if (missing.length > 0) {
    throw new TributaryError(
      'TRIB_E_TOPOLOGY_MISSING',
      `PostgreSQL bookkeeping is missing: ${missing.join(', ')}. Run \`npm run migrate\` (or the chart's migrate Job) first.`,
      { details: { missing } },
    );
  }
}

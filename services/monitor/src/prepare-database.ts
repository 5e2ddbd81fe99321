/**
 * Start-up check of the bookkeeping tables the monitor reads and writes: the stream log and the
 * load ledger must exist (`migrate` creates them), and the dead-letter table is created when missing.
 */
import { TributaryError } from '@tributary/core';
import type { Pool } from 'pg';
import { DEAD_LETTERS_DDL } from './dead-letter-store';
import { toWarehouseError } from './warehouse-error';

const REQUIRED = ['tributary.stream_log', 'tributary.load_ledger'];

/** Fails with TRIB_E_TOPOLOGY_MISSING naming missing tables; creates `tributary.dead_letters` if needed. */
export async function prepareDatabase(pool: Pool): Promise<void> {
  let present: { name: string; found: string | null; }[];
  try {
    const r = await pool.query<{ name: string; found: string | null }>(
      'SELECT name, to_regclass(name)::text AS found FROM unnest($1::text[]) AS name',
      [[...REQUIRED, 'tributary.dead_letters']],
    );
    present = r.rows;
  } catch (err) {
    throw toWarehouseError(err, 'cannot reach PostgreSQL');
  }
  const missing = present.filter((r) => r.found === null && REQUIRED.includes(r.name)).map((r) => `table ${r.name}`);
  if (missing.length > 0) {
    throw new TributaryError(
      'TRIB_E_TOPOLOGY_MISSING',
      `PostgreSQL bookkeeping is missing: ${missing.join(', ')}. Run \`npm run migrate\` (or the chart's migrate Job) first.`,
      { details: { missing } },
    );
  }
  if (present.some((r) => r.name === 'tributary.dead_letters' && r.found !== null)) return;
  // Only when missing, so a monitor without CREATE rights starts once the table exists. The lock
  // is migrate's: replicas starting together (or a running migrate) do not race on CREATE.
  const client = await pool.connect().catch((err: unknown) => {
    throw toWarehouseError(err, 'cannot reach PostgreSQL');
  });
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['tributary-migrate']);
    await client.query(DEAD_LETTERS_DDL);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw toWarehouseError(err, 'cannot create tributary.dead_letters');
  } finally {
    client.release();
  }
}

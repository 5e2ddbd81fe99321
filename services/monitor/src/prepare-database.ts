/**
 * Start-up check of the bookkeeping tables the monitor reads and writes: `migrate` creates them
 * (the monitor never does, so it runs without CREATE rights) and its database user needs the
 * privileges of the group role `tributary_monitor` on them.
 */
import { assertTableAccess } from '@tributary/warehouse/table-access';
import { tableNeeds } from '@tributary/warehouse/database-roles';
import type { Pool } from 'pg';
import { toWarehouseError } from './warehouse-error';

/** Fails with TRIB_E_TOPOLOGY_MISSING naming missing tables, or TRIB_E_CONFIG naming missing privileges. */
export async function prepareDatabase(pool: Pool): Promise<void> {
  try {
    await assertTableAccess(pool, tableNeeds('monitor'), 'monitor');
  } catch (err) {
    throw toWarehouseError(err, 'cannot reach PostgreSQL');
  }
}

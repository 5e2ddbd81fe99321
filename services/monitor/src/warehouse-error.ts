/**
 * Classifies PostgreSQL failures for the retry logic of the fold loops: an unreachable, refusing
 * or overloaded server is TRIB_E_WAREHOUSE_UNAVAILABLE (retryable: the batch waits and is
 * retried), an error about the data itself (`isDataError`: SQLSTATE class 22 or 23) is
 * TRIB_E_INTERNAL (not retryable: the message is isolated).
 */
import { guardClient } from '@tributary/warehouse/guard-client';
import { isDataError, sqlState } from '@tributary/warehouse/pg-error-kind';
import type { Pool, PoolClient } from 'pg';
import { TributaryError } from '@tributary/contract/errors';

/** Wraps a PostgreSQL (or socket) error as a TributaryError with the right retryability. */
export function toWarehouseError(err: unknown, what: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const message = `${what}: ${(err as Error)?.message ?? String(err)}`;
  if (!isDataError(err)) return new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', message, { cause: err });
  return new TributaryError('TRIB_E_INTERNAL', message, { cause: err, details: { sqlstate: sqlState(err) } });
}

/**
 * Runs `work` in one transaction of a pooled connection, the way every fold loop writes: commits,
 * or rolls back and rethrows the error classified by `toWarehouseError` (naming `what`); a
 * connection that failed mid-transaction is discarded rather than returned to the pool.
 */
export async function inFoldTransaction<T>(pool: Pool, what: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
  let client: PoolClient;
  try {
    client = guardClient(await pool.connect());
  } catch (err) {
    throw toWarehouseError(err, 'cannot connect to PostgreSQL');
  }
  let broken = false;
  try {
    await client.query('BEGIN');
    const out = await work(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw toWarehouseError(err, what);
  } finally {
    client.release(broken ? true : undefined);
  }
}

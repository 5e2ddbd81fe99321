/**
 * Classifies PostgreSQL failures for the retry logic of the fold loops: an unreachable, refusing
 * or overloaded server is TRIB_E_WAREHOUSE_UNAVAILABLE (retryable: the batch waits and is
 * retried), an error about the data itself (`isDataError`: SQLSTATE class 22 or 23) is
 * TRIB_E_INTERNAL (not retryable: the message is isolated).
 */
import { isDataError, sqlState } from '@tributary/warehouse';
import { TributaryError } from '@tributary/contract';

/** Wraps a PostgreSQL (or socket) error as a TributaryError with the right retryability. */
export function toWarehouseError(err: unknown, what: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const message = `${what}: ${(err as Error)?.message ?? String(err)}`;
  if (!isDataError(err)) return new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', message, { cause: err });
  return new TributaryError('TRIB_E_INTERNAL', message, { cause: err, details: { sqlstate: sqlState(err) } });
}

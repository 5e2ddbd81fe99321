/**
 * Classifies PostgreSQL failures for the retry logic of the fold loops: an unreachable or
 * overloaded server is TRIB_E_WAREHOUSE_UNAVAILABLE (retryable: the batch waits and is retried),
 * an error about the data itself is TRIB_E_INTERNAL (not retryable: the message is isolated).
 */
import { TributaryError } from '@tributary/core';

/**
 * SQLSTATE classes that say nothing about the data: connection (08), resources (53, 54), operator
 * intervention such as a shutdown (57), system (58), and transaction rollbacks such as deadlocks (40).
 */
const TRANSIENT_CLASSES = new Set(['08', '40', '53', '54', '57', '58']);

/** Wraps a PostgreSQL (or socket) error as a TributaryError with the right retryability. */
export function toWarehouseError(err: unknown, what: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const code = (err as { code?: unknown })?.code;
  const message = `${what}: ${(err as Error)?.message ?? String(err)}`;
  // A five-character SQLSTATE came from the server; anything else (ECONNREFUSED, a timeout) from the socket.
  const fromServer = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
  if (!fromServer || TRANSIENT_CLASSES.has(code.slice(0, 2))) {
    return new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', message, { cause: err });
  }
  return new TributaryError('TRIB_E_INTERNAL', message, { cause: err, details: { sqlstate: code } });
}

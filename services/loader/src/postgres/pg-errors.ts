/**
 * Classifies PostgreSQL errors: the data's fault (dead-letter the record) or the warehouse's
 * (retry until it recovers). Callers branch on the resulting code, never on message text.
 */
import { isDataError } from '@tributary/warehouse/pg-error-kind';
import { TributaryError } from '@tributary/contract/errors';

/** Wraps a pg error as TRIB_E_LOAD_REJECTED (data/constraint) or TRIB_E_WAREHOUSE_UNAVAILABLE. */
export function classifyPgError(err: unknown, what: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const e = err as { code?: string; message?: string; column?: string; detail?: string };
  // 22: data exception (out of range, bad format); 23: integrity constraint (not null, check).
  if (isDataError(err)) {
    return new TributaryError('TRIB_E_LOAD_REJECTED', `${what}: ${e.message}${e.detail ? ` (${e.detail})` : ''}`, {
      cause: err,
      location: e.column ? { field: e.column } : {},
      details: { sqlstate: e.code },
    });
  }
  // Everything else (connection loss, shutdown, missing table during a migration, deadlock)
  // is retried: dead-lettering a healthy record because the warehouse is ill would be wrong.
  return new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', `${what}: ${e.message ?? String(err)}`, {
    cause: err,
    details: { sqlstate: e.code },
  });
}

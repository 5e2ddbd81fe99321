/**
 * Whose fault a PostgreSQL error is: the data's (a value the server refuses: SQLSTATE class 22,
 * data exception, or 23, integrity constraint violation), or the server's and its surroundings
 * (anything else: connection refused or cut, logins rejected by pg_hba.conf or a rotated
 * password, shutdown, recovery, resources, deadlocks). Stages retry the second kind until the
 * warehouse is back and isolate only the first, so a healthy record is never dead-lettered (or a
 * dead letter stored without its body) because the warehouse was unreachable. Loader and monitor
 * both classify with this.
 */

/** SQLSTATE classes that mean the data itself was refused. */
const DATA_CLASSES = new Set(['22', '23']);

/** The SQLSTATE of a server error, or undefined for socket errors (ECONNREFUSED, timeouts) and others. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Whether PostgreSQL refused this because of the data (retrying the same data cannot help). */
export function isDataError(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && DATA_CLASSES.has(state.slice(0, 2));
}

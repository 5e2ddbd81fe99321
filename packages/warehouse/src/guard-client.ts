/**
 * A pooled PostgreSQL client emits 'error' when its connection dies while it is checked out (the
 * server crashed or restarted mid-transaction). pg-pool only listens on idle clients, and an
 * 'error' event nobody listens to kills the process. The failing query already rejects and the
 * caller retries, so the event itself needs no handling beyond not crashing.
 */
import type { PoolClient } from 'pg';

const guarded = new WeakSet<PoolClient>();

/** Makes a checked-out client safe against a dying connection; idempotent per client. */
export function guardClient<C extends PoolClient>(client: C): C {
  if (!guarded.has(client)) {
    guarded.add(client);
    client.on('error', () => {
      // Reported by the query that fails on this connection; see above.
    });
  }
  return client;
}

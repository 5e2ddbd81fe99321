/**
 * SQL the load modes share to tell what a merge did to each row (docs/warehouse.md, Load counts):
 * whether an existing row's data differs from the incoming values (so an unchanged row is not
 * rewritten), and which of the rows an `INSERT ... ON CONFLICT DO UPDATE` wrote were inserted.
 */

/**
 * `ROW(t.a, t.b) IS DISTINCT FROM ROW(<a>, <b>)`: NULL-safe, over the data columns only (never
 * `_msg_id`, `_ingested_at`, `_loaded_at` or other bookkeeping, which differ on every load).
 * `incoming` maps a quoted column to the expression of its new value. `false` without columns.
 */
export function rowDiffers(columns: readonly string[], incoming: (column: string) => string = (c) => `EXCLUDED.${c}`): string {
  if (columns.length === 0) return 'false';
  return `ROW(${columns.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM ROW(${columns.map(incoming).join(', ')})`;
}

/** How a mode tells inserted rows from updated ones among those its upsert returns. */
export interface InsertedFlag {
  /** CTEs (each ending in `,`) to put before the upsert's own, in the same WITH. */
  ctes: string;
  /** A boolean expression for RETURNING (the target aliased `t`): the row was inserted. */
  returning: string;
}

/**
 * The inserted flag for an `INSERT INTO <target> AS t ... ON CONFLICT (<key>) DO UPDATE`. `key`:
 * quoted key columns; `source`: the CTE or table of incoming rows (with the key columns).
 *
 * A plain table uses `xmax = 0`: a row version made by INSERT has no deleting or locking
 * transaction, while ON CONFLICT DO UPDATE first locks the stored row and the new version it
 * writes carries that lock, so its xmax is this transaction. (The common idiom; it reads a system
 * column, which RETURNING gives for a plain table.)
 *
 * PostgreSQL cannot return a system column of a partitioned table ("cannot retrieve a system
 * column in this context"), so there the keys stored before the statement are read in the same
 * statement (a CTE sees the statement's snapshot, not the upsert's rows): a returned row whose key
 * was not among them was inserted. One miscount is possible there: a key another loader inserts
 * after this statement's snapshot and before its upsert reaches it is updated here but counted as
 * inserted by both.
 */
export function insertedFlag(opts: { target: string; key: readonly string[]; source: string; partitioned: boolean }): InsertedFlag {
  if (!opts.partitioned) return { ctes: '', returning: '(t.xmax = 0)' };
  const K = opts.key.join(', ');
  return {
    ctes: `_stored_keys AS (SELECT ${K} FROM ${opts.target} WHERE (${K}) IN (SELECT ${K} FROM ${opts.source})),`,
    returning: `NOT EXISTS (SELECT 1 FROM _stored_keys k WHERE ${opts.key.map((c) => `k.${c} = t.${c}`).join(' AND ')})`,
  };
}

/**
 * The per-message counts of a mode that writes one row per candidate (the incoming rows after
 * duplicates in the flush are dropped): `candidates` holds them (with `_msg_id`), `written` the
 * rows the upsert returned (`_msg_id`, `_ins`). A candidate not written found its row unchanged.
 */
export function candidateCountsSql(candidates: string, written: string): string {
  return `SELECT c._msg_id, coalesce(w.i, 0) AS inserted, coalesce(w.u, 0) AS updated, c.n - coalesce(w.i, 0) - coalesce(w.u, 0) AS unchanged
      FROM (SELECT _msg_id, count(*)::int AS n FROM ${candidates} GROUP BY _msg_id) c
      LEFT JOIN (SELECT _msg_id, count(*) FILTER (WHERE _ins)::int AS i, count(*) FILTER (WHERE NOT _ins)::int AS u
        FROM ${written} GROUP BY _msg_id) w USING (_msg_id)`;
}

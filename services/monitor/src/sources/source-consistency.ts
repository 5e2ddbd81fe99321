/**
 * How far each `postgres_cdc` source's transactions are in the warehouse (docs/design.md, Source
 * transactions), from the loader's bookkeeping: `tributary.txn_groups` (change batches loaded, each
 * whole in one commit) and `tributary.txn_parts` (batches some of whose messages wait for the rest).
 */
import type { Pipeline } from '@tributary/contract/spec';
import type { Pool } from 'pg';
import type { SourceConsistency } from '@tributary/contract/monitor-api';
import { toWarehouseError } from '../warehouse-error';
export type { SourceConsistency } from '@tributary/contract/monitor-api';

const SQL = `
WITH s AS (SELECT * FROM unnest($1::text[], $2::text[]) AS s(pipeline, source)),
waiting AS (
  SELECT pipeline, source, min(lsn) AS lsn, count(DISTINCT group_id)::int AS groups,
         extract(epoch FROM now() - min(staged_at))::float8 AS waited
    FROM tributary.txn_parts WHERE pipeline = ANY($1::text[]) GROUP BY pipeline, source)
SELECT s.pipeline, s.source, coalesce(w.groups, 0) AS groups, w.waited, g.lsn::text AS lsn,
       to_char(g.commit_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS commit_time
  FROM s
  LEFT JOIN waiting w ON w.pipeline = s.pipeline AND w.source = s.source
  LEFT JOIN LATERAL (
    SELECT lsn, commit_time FROM tributary.txn_groups t
     WHERE t.pipeline = s.pipeline AND t.source = s.source AND (w.lsn IS NULL OR t.lsn < w.lsn)
     ORDER BY t.lsn DESC LIMIT 1) g ON true`;

/** The consistency of every CDC source, by pipeline (pipelines without one are absent). */
export async function readSourceConsistency(pool: Pool, pipelines: readonly Pipeline[]): Promise<Map<string, SourceConsistency[]>> {
  const pairs = pipelines.flatMap((p) =>
    Object.entries(p.sources)
      .filter(([, s]) => s.kind === 'postgres_cdc')
      .map(([name]) => ({ pipeline: p.name, source: name })),
  );
  const out = new Map<string, SourceConsistency[]>();
  if (pairs.length === 0) return out;
  try {
    const r = await pool.query<{
      pipeline: string;
      source: string;
      groups: number;
      waited: number | null;
      lsn: string | null;
      commit_time: string | null;
    }>(SQL, [pairs.map((x) => x.pipeline), pairs.map((x) => x.source)]);
    for (const row of r.rows) {
      const list = out.get(row.pipeline) ?? [];
      list.push({
        source: row.source,
        lsn: row.lsn,
        commit_time: row.commit_time,
        waiting_batches: row.groups,
        oldest_waiting_seconds: row.waited,
      });
      out.set(row.pipeline, list);
    }
    return out;
  } catch (err) {
    throw toWarehouseError(err, 'reading source-transaction consistency');
  }
}

/**
 * The durable counts behind pipeline status: two aggregate queries per request (stream log and
 * load ledger, run in parallel), whatever the number of pipelines.
 */
import type { Pool } from 'pg';
import type { LedgerCounts } from '@tributary/warehouse/bookkeeping';
import { toWarehouseError } from '../warehouse-error';

/** Sums of `tributary.stream_log` per (pipeline, stream, name, stage). */
export interface StreamLogSum {
  pipeline: string;
  stream: string;
  name: string;
  stage: string | null;
  /** Messages the DLQ console replayed (their records count as replayed, not accepted). */
  replay: boolean;
  records: number;
  filtered: number;
  /** Of `filtered`, records the pipeline counts elsewhere (Trib-Routed). */
  routed: number;
  /** Newest and oldest ingest time in the group, epoch ms (null when none was recorded). */
  maxIngestedMs: number | null;
  minIngestedMs: number | null;
}

/**
 * Sums of `tributary.load_ledger` per (pipeline, table): its load counts (ledger rows from before
 * the four counts count in none of inserted, updated, unchanged), and more.
 */
export interface LedgerSum extends LedgerCounts {
  pipeline: string;
  table: string;
  maxIngestedMs: number | null;
  lastLoadedAt: Date | null;
  /** Newest source time loaded (the ledger's `source_time`), canonical with microseconds; null when none had one. */
  maxSourceTime: string | null;
}

/** Both sets of sums. */
export interface StatusCounts {
  streamLog: StreamLogSum[];
  ledger: LedgerSum[];
}

const STREAM_LOG_SQL = `
SELECT pipeline, stream, name, stage, replay_of IS NOT NULL AS replay,
       sum(records)::bigint AS records,
       sum(filtered)::bigint AS filtered,
       sum(routed)::bigint AS routed,
       (extract(epoch FROM max(ingested_at)) * 1000)::float8 AS max_ingested_ms,
       (extract(epoch FROM min(ingested_at)) * 1000)::float8 AS min_ingested_ms
FROM tributary.stream_log
WHERE pipeline = ANY($1::text[])
GROUP BY pipeline, stream, name, stage, replay_of IS NOT NULL`;

const LEDGER_SQL = `
SELECT pipeline, table_name,
       sum(records)::bigint AS records,
       sum(written)::bigint AS written,
       coalesce(sum(inserted), 0)::bigint AS inserted,
       coalesce(sum(updated), 0)::bigint AS updated,
       coalesce(sum(unchanged), 0)::bigint AS unchanged,
       sum(skipped)::bigint AS skipped,
       (extract(epoch FROM max(ingested_at)) * 1000)::float8 AS max_ingested_ms,
       max(loaded_at) AS last_loaded_at,
       to_char(max(source_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS max_source_time
FROM tributary.load_ledger
WHERE pipeline = ANY($1::text[])
GROUP BY pipeline, table_name`;

/** Reads the sums for the named pipelines. */
export async function queryStatusCounts(pool: Pool, pipelines: readonly string[]): Promise<StatusCounts> {
  try {
    const [log, ledger] = await Promise.all([
      pool.query<{
        pipeline: string;
        stream: string;
        name: string;
        stage: string | null;
        replay: boolean;
        records: string;
        filtered: string;
        routed: string;
        max_ingested_ms: number | null;
        min_ingested_ms: number | null;
      }>(STREAM_LOG_SQL, [pipelines]),
      pool.query<{
        pipeline: string;
        table_name: string;
        records: string;
        written: string;
        inserted: string;
        updated: string;
        unchanged: string;
        skipped: string;
        max_ingested_ms: number | null;
        last_loaded_at: Date | null;
        max_source_time: string | null;
      }>(LEDGER_SQL, [pipelines]),
    ]);
    return {
      streamLog: log.rows.map((r) => ({
        pipeline: r.pipeline,
        stream: r.stream,
        name: r.name,
        stage: r.stage,
        replay: r.replay,
        records: Number(r.records),
        filtered: Number(r.filtered),
        routed: Number(r.routed),
        maxIngestedMs: r.max_ingested_ms,
        minIngestedMs: r.min_ingested_ms,
      })),
      ledger: ledger.rows.map((r) => ({
        pipeline: r.pipeline,
        table: r.table_name,
        records: Number(r.records),
        written: Number(r.written),
        inserted: Number(r.inserted),
        updated: Number(r.updated),
        unchanged: Number(r.unchanged),
        skipped: Number(r.skipped),
        maxIngestedMs: r.max_ingested_ms,
        lastLoadedAt: r.last_loaded_at,
        maxSourceTime: r.max_source_time,
      })),
    };
  } catch (err) {
    throw toWarehouseError(err, 'cannot read pipeline counts');
  }
}

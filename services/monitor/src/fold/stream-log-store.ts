/**
 * Writes folded messages into `tributary.stream_log` (DDL in core's bookkeeping.ts), one
 * multi-row statement per batch, keyed by (stream, msg_id) so a redelivered or re-published
 * message is counted once.
 */
import type { PoolClient } from 'pg';
import type { StreamLogRow } from './folded-message';

const INSERT_SQL = `
INSERT INTO tributary.stream_log (stream, msg_id, pipeline, name, stage, error_code, records, filtered, ingested_at, seq, replay_of, routed)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::integer[], $8::integer[], $9::timestamptz[], $10::bigint[], $11::bigint[], $12::integer[])
ON CONFLICT (stream, msg_id) DO NOTHING
RETURNING msg_id`;

/** Inserts the rows; resolves with the message IDs that were new (not logged before). */
export async function insertStreamLog(db: PoolClient, rows: readonly StreamLogRow[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const r = await db.query<{ msg_id: string }>(INSERT_SQL, [
    rows.map((x) => x.stream),
    rows.map((x) => x.msgId),
    rows.map((x) => x.pipeline),
    rows.map((x) => x.name),
    rows.map((x) => x.stage),
    rows.map((x) => x.errorCode),
    rows.map((x) => x.records),
    rows.map((x) => x.filtered),
    rows.map((x) => x.ingestedAt),
    rows.map((x) => x.seq),
    rows.map((x) => x.replayOf),
    rows.map((x) => x.routed),
  ]);
  return new Set(r.rows.map((x) => x.msg_id));
}

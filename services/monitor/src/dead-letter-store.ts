/**
 * `tributary.dead_letters`: every DLQ message the monitor has folded, browsable by pipeline and
 * stage with its reason, record and origin (the stream keeps them only for its max age).
 */
import type { Pool, PoolClient } from 'pg';
import type { DeadLetterRow } from './folded-message';

/**
 * DDL of the dead-letter table; idempotent. Belongs in core's BOOKKEEPING_DDL (then the monitor
 * needs no CREATE right); until it moves there the monitor runs it at start.
 */

const INSERT_SQL = `
INSERT INTO tributary.dead_letters (seq, msg_id, pipeline, stage, name, error_code, error_message, error_location,
                                    record, original, replay_subject, attempts, ingested_at, failed_at)
SELECT seq, msg_id, pipeline, stage, name, error_code, error_message, error_location::jsonb,
       record::jsonb, original::jsonb, replay_subject, attempts, ingested_at, failed_at
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::text[], $11::text[], $12::integer[], $13::timestamptz[], $14::timestamptz[])
  AS t(seq, msg_id, pipeline, stage, name, error_code, error_message, error_location,
       record, original, replay_subject, attempts, ingested_at, failed_at)
ON CONFLICT (seq) DO NOTHING`;

/** Inserts dead-letter rows in one statement (an already stored sequence is left as it is). */
export async function insertDeadLetters(db: PoolClient, rows: readonly DeadLetterRow[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <K extends keyof DeadLetterRow>(k: K): DeadLetterRow[K][] => rows.map((r) => r[k]);
  await db.query(INSERT_SQL, [
    col('seq'),
    col('msgId'),
    col('pipeline'),
    col('stage'),
    col('name'),
    col('errorCode'),
    col('errorMessage'),
    col('errorLocation'),
    col('record'),
    col('original'),
    col('replaySubject'),
    col('attempts'),
    col('ingestedAt'),
    col('failedAt'),
  ]);
}

/** A dead letter as `/api/dlq` returns it. */
export interface DeadLetterView {
  seq: number;
  msg_id: string;
  pipeline: string;
  stage: string;
  name: string;
  error: { code: string | null; message: string | null; location: unknown };
  record: unknown;
  original: unknown;
  replay_subject: string | null;
  attempts: number | null;
  ingested_at: string | null;
  failed_at: string | null;
}

/** Filters of a dead-letter listing. */
export interface DeadLetterQuery {
  pipeline?: string;
  stage?: string;
  /** Only entries with a lower sequence (the next page after the last `seq` seen). */
  before?: number;
  limit: number;
}

/** Lists dead letters, newest (highest sequence) first. */
export async function listDeadLetters(db: Pool, q: DeadLetterQuery): Promise<DeadLetterView[]> {
  const r = await db.query<{
    seq: string;
    msg_id: string;
    pipeline: string;
    stage: string;
    name: string;
    error_code: string | null;
    error_message: string | null;
    error_location: unknown;
    record: unknown;
    original: unknown;
    replay_subject: string | null;
    attempts: number | null;
    ingested_at: Date | null;
    failed_at: Date | null;
  }>(
    `SELECT seq, msg_id, pipeline, stage, name, error_code, error_message, error_location, record, original,
            replay_subject, attempts, ingested_at, failed_at
     FROM tributary.dead_letters
     WHERE ($1::text IS NULL OR pipeline = $1) AND ($2::text IS NULL OR stage = $2) AND ($3::bigint IS NULL OR seq < $3)
     ORDER BY seq DESC
     LIMIT $4`,
    [q.pipeline ?? null, q.stage ?? null, q.before ?? null, q.limit],
  );
  return r.rows.map((x) => ({
    seq: Number(x.seq),
    msg_id: x.msg_id,
    pipeline: x.pipeline,
    stage: x.stage,
    name: x.name,
    error: { code: x.error_code, message: x.error_message, location: x.error_location },
    record: x.record,
    original: x.original,
    replay_subject: x.replay_subject,
    attempts: x.attempts,
    ingested_at: x.ingested_at?.toISOString() ?? null,
    failed_at: x.failed_at?.toISOString() ?? null,
  }));
}

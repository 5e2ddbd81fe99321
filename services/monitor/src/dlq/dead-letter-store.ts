/**
 * `tributary.dead_letters`: every DLQ message the monitor has folded, browsable by pipeline and
 * stage with its reason, record and origin (the stream keeps them only for its max age).
 */
import type { Pool, PoolClient } from 'pg';
import type { DeadLetterView } from '@tributary/contract/monitor-api';

/** A row of `tributary.dead_letters` (JSON columns already serialised). */
export interface DeadLetterRow {
  seq: number;
  msgId: string;
  pipeline: string;
  stage: string;
  name: string;
  errorCode: string | null;
  errorMessage: string | null;
  errorLocation: string | null;
  record: string | null;
  original: string | null;
  replaySubject: string | null;
  attempts: number | null;
  ingestedAt: string | null;
  failedAt: string | null;
  /** The source schema's fingerprint (header Trib-Schema-Fingerprint), when the stage sent it. */
  schemaFingerprint: string | null;
  /** Every reason when there are several (`error.details`, each with its field), JSON. */
  errorDetails: string | null;
  /** Every field the error names: those of its details, else its location's; empty when none. */
  errorFields: string[];
}
export type { DeadLetterView } from '@tributary/contract/monitor-api';

/**
 * DDL of the dead-letter table; idempotent. Belongs in core's BOOKKEEPING_DDL (then the monitor
 * needs no CREATE right); until it moves there the monitor runs it at start.
 */

const INSERT_SQL = `
INSERT INTO tributary.dead_letters (seq, msg_id, pipeline, stage, name, error_code, error_message, error_location,
                                    record, original, replay_subject, attempts, ingested_at, failed_at, schema_fingerprint,
                                    error_details, error_fields)
SELECT seq, msg_id, pipeline, stage, name, error_code, error_message, error_location::jsonb,
       record::jsonb, original::jsonb, replay_subject, attempts, ingested_at, failed_at, schema_fingerprint,
       error_details::jsonb, (SELECT coalesce(array_agg(f), '{}') FROM jsonb_array_elements_text(error_fields::jsonb) f)
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::text[], $11::text[], $12::integer[], $13::timestamptz[], $14::timestamptz[], $15::text[],
            $16::text[], $17::text[])
  AS t(seq, msg_id, pipeline, stage, name, error_code, error_message, error_location,
       record, original, replay_subject, attempts, ingested_at, failed_at, schema_fingerprint, error_details, error_fields)
ON CONFLICT (seq) DO NOTHING`;

/**
 * The fields a dead letter's error names (`error_fields`; rows folded before it existed: the
 * location's field), as SQL over \`d\`.
 */
export const ERROR_FIELDS_SQL = `coalesce(d.error_fields, array_remove(ARRAY[d.error_location->>'field'], NULL))`;

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
    col('schemaFingerprint'),
    col('errorDetails'),
    // A text[] parameter cannot carry one array per row: each row's fields travel as JSON text.
    rows.map((r) => JSON.stringify(r.errorFields)),
  ]);
}

/** Which dead letters a listing or an action covers. */
export interface DeadLetterFilter {
  pipeline?: string;
  stage?: string;
  /** Source or dataset name. */
  name?: string;
  /** Error code, e.g. TRIB_E_VALIDATION. */
  code?: string;
  /** A field the error names (one of its fields when it names several); `(none)`: errors naming no field. */
  field?: string;
  /** Source schema fingerprint; `(none)`: dead letters without one. */
  schema?: string;
  /** Text searched (case-insensitive) in the error message and the record. */
  q?: string;
  /**
   * Top-level record fields `q` does not search: a caller without the admin token, who sees
   * personal fields masked, must not find a plate by searching for it. Default: none.
   */
  hiddenFields?: readonly string[];
  /** `open` (default), `replayed`, `discarded` or `all`. */
  status?: 'open' | 'replayed' | 'discarded' | 'all';
}

/** Filters of a dead-letter listing. */
export interface DeadLetterQuery extends DeadLetterFilter {
  /** Only entries with a lower sequence (the next page after the last `seq` seen). */
  before?: number;
  limit: number;
}

/** The filter value selecting dead letters without a field or schema fingerprint. */
export const NONE = '(none)';

/** Escapes LIKE wildcards so a search for `50%` finds the text `50%`. */
function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The WHERE clause of a filter, with parameters from \$1. Exported for the actions, which select
 * "all matching" with exactly the listing's semantics.
 */
export function filterClause(f: DeadLetterFilter, firstParam = 1): { sql: string; params: unknown[] } {
  const params: unknown[] = [
    f.pipeline ?? null,
    f.stage ?? null,
    f.name ?? null,
    f.code ?? null,
    f.q ? likePattern(f.q) : null,
    f.status ?? 'open',
    f.field ?? null,
    f.schema ?? null,
    f.hiddenFields?.length ? [...f.hiddenFields] : null,
  ];
  const p = (i: number): string => `$${firstParam + i}`;
  const sql = `(${p(0)}::text IS NULL OR d.pipeline = ${p(0)})
    AND (${p(1)}::text IS NULL OR d.stage = ${p(1)})
    AND (${p(2)}::text IS NULL OR d.name = ${p(2)})
    AND (${p(3)}::text IS NULL OR d.error_code = ${p(3)})
    AND (${p(4)}::text IS NULL OR d.error_message ILIKE ${p(4)} OR (CASE WHEN ${p(8)}::text[] IS NOT NULL AND jsonb_typeof(d.record) = 'object' THEN d.record - ${p(8)}::text[] ELSE d.record END)::text ILIKE ${p(4)} OR d.msg_id ILIKE ${p(4)})
    AND (${p(5)}::text = 'all' OR coalesce(s.status, 'open') = ${p(5)})
    AND (${p(6)}::text IS NULL OR (CASE WHEN ${p(6)} = '${NONE}' THEN cardinality(${ERROR_FIELDS_SQL}) = 0 ELSE ${p(6)} = ANY(${ERROR_FIELDS_SQL}) END))
    AND (${p(7)}::text IS NULL OR coalesce(d.schema_fingerprint, '${NONE}') = ${p(7)})`;
  return { sql, params };
}

/** Columns of a listing (dead letter `d` joined with its state `s`). */
export const DEAD_LETTER_COLUMNS = `d.seq, d.msg_id, d.pipeline, d.stage, d.name, d.error_code, d.error_message, d.error_location,
  d.record, d.original, d.replay_subject, d.attempts, d.ingested_at, d.failed_at, d.schema_fingerprint, d.error_details,
  s.status, s.at AS status_at`;

/** A row of a listing query. */
export interface DeadLetterDbRow {
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
  schema_fingerprint: string | null;
  error_details: unknown;
  status: 'replayed' | 'discarded' | null;
  status_at: Date | null;
}

/** Turns a database row into its API view. */
export function toView(x: DeadLetterDbRow): DeadLetterView {
  return {
    seq: Number(x.seq),
    msg_id: x.msg_id,
    pipeline: x.pipeline,
    stage: x.stage,
    name: x.name,
    error: {
      code: x.error_code,
      message: x.error_message,
      location: x.error_location,
      ...(Array.isArray(x.error_details) ? { details: x.error_details as DeadLetterView['error']['details'] } : {}),
    },
    record: x.record,
    original: x.original,
    replay_subject: x.replay_subject,
    attempts: x.attempts,
    ingested_at: x.ingested_at?.toISOString() ?? null,
    failed_at: x.failed_at?.toISOString() ?? null,
    schema_fingerprint: x.schema_fingerprint,
    status: x.status ?? 'open',
    status_at: x.status_at?.toISOString() ?? null,
  };
}

/** Lists dead letters, newest (highest sequence) first, with the latest action on each. */
export async function listDeadLetters(db: Pool, q: DeadLetterQuery): Promise<DeadLetterView[]> {
  const f = filterClause(q, 3);
  const r = await db.query<DeadLetterDbRow>(
    `SELECT ${DEAD_LETTER_COLUMNS}
     FROM tributary.dead_letters d LEFT JOIN tributary.dead_letter_state s ON s.seq = d.seq
     WHERE ($1::bigint IS NULL OR d.seq < $1) AND ${f.sql}
     ORDER BY d.seq DESC
     LIMIT $2`,
    [q.before ?? null, q.limit, ...f.params],
  );
  return r.rows.map(toView);
}

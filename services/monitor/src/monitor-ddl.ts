/**
 * Tables the monitor itself owns in schema `tributary`: the audit trail of DLQ actions, the state
 * of each dead letter (replayed, discarded) and the history of alerts. Idempotent DDL, run at
 * start. It belongs beside core's BOOKKEEPING_DDL (run by `migrate`) so the monitor can run
 * without CREATE rights; until it moves there, a monitor without them runs read-only.
 */
import type { Pool } from 'pg';

/** DDL of the monitor's own tables. */
export const MONITOR_DDL = `
-- Who did what to which dead letters: one row per replay or discard request.
CREATE TABLE IF NOT EXISTS tributary.dlq_actions (
  id          bigserial   PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  action      text        NOT NULL CHECK (action IN ('replay', 'discard')),
  actor       text        NOT NULL,
  remote_addr text,
  selection   jsonb       NOT NULL,   -- {"seqs": [...]} or {"filter": {...}}
  requested   integer     NOT NULL,
  done        integer     NOT NULL,
  skipped     integer     NOT NULL,
  failed      integer     NOT NULL,
  note        text
);
CREATE INDEX IF NOT EXISTS dlq_actions_at ON tributary.dlq_actions (at DESC);

-- The latest action on each dead letter (absent: still open).
CREATE TABLE IF NOT EXISTS tributary.dead_letter_state (
  seq        bigint      PRIMARY KEY,
  status     text        NOT NULL CHECK (status IN ('replayed', 'discarded')),
  action_id  bigint      NOT NULL REFERENCES tributary.dlq_actions (id),
  at         timestamptz NOT NULL DEFAULT now(),
  replay_seq bigint                  -- the stream sequence the replay got in its target stream
);

-- Alert transitions (firing, resolved), for the dashboard's history and after-the-fact review.
CREATE TABLE IF NOT EXISTS tributary.alert_events (
  id        bigserial   PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  alert     text        NOT NULL,
  status    text        NOT NULL CHECK (status IN ('firing', 'resolved')),
  severity  text        NOT NULL,
  labels    jsonb       NOT NULL,
  summary   text        NOT NULL,
  value     double precision,
  starts_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_events_at ON tributary.alert_events (at DESC);

-- The pipeline page charts accepted records over ingest time.
CREATE INDEX IF NOT EXISTS stream_log_ingested ON tributary.stream_log (pipeline, stream, ingested_at);
`;

/**
 * Creates the monitor's tables; resolves false (and the caller runs without write actions and
 * alert history) when the role may not create them and they do not exist.
 */
export async function ensureMonitorTables(pool: Pool): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await pool.query(MONITOR_DDL);
    return { ok: true };
  } catch (err) {
    const have = await pool
      .query<{ n: number }>(
        `SELECT count(*)::int AS n FROM unnest(ARRAY['tributary.dlq_actions','tributary.dead_letter_state','tributary.alert_events']) t
         WHERE to_regclass(t) IS NOT NULL`,
      )
      .then((r) => r.rows[0]!.n === 3)
      .catch(() => false);
    return have ? { ok: true } : { ok: false, reason: (err as Error).message };
  }
}

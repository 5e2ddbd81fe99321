/**
 * Tributary's own tables in schema `tributary`: the load ledger (exactly-once, docs/design.md), the
 * stream log the monitor folds message headers into (durable counts that survive restarts), model
 * runs, check results, partition retention runs, and the monitor's DLQ audit trail and alert history. Created only by
 * `migrate`: no service needs CREATE rights at run time.
 */

/**
 * The load counts of `tributary.load_ledger` (docs/warehouse.md, Load counts), as the loader
 * writes them per message and table and the monitor sums them: `records = inserted + updated +
 * unchanged + skipped`, `written = inserted + updated`.
 */
export interface LedgerCounts {
  records: number;
  written: number;
  inserted: number;
  updated: number;
  unchanged: number;
  skipped: number;
}

/** DDL of the bookkeeping schema; idempotent. */
export const BOOKKEEPING_DDL = `
CREATE SCHEMA IF NOT EXISTS tributary;
CREATE SCHEMA IF NOT EXISTS warehouse;

-- One row per (input message, table), written in the same transaction as the rows it loaded.
-- A redelivered message finds its row and is skipped.
CREATE TABLE IF NOT EXISTS tributary.load_ledger (
  pipeline     text        NOT NULL,
  table_name   text        NOT NULL,
  msg_id       text        NOT NULL,
  dataset      text        NOT NULL,
  stream_seq   bigint,
  records      integer     NOT NULL,  -- records the message carried for this table (= inserted + updated + unchanged + skipped)
  written      integer     NOT NULL,  -- inserted + updated
  skipped      integer     NOT NULL,  -- records that did nothing to the table (each mode's meaning: docs/warehouse.md, Load counts)
  ingested_at  timestamptz,
  source_time  timestamptz,             -- the message's Trib-Source-Time (oldest source time of its records)
  loaded_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline, table_name, msg_id)
);
-- Ledgers made before source time existed get the column (the monitor's source freshness reads it).
ALTER TABLE tributary.load_ledger ADD COLUMN IF NOT EXISTS source_time timestamptz;
-- The outcomes beside skipped (docs/warehouse.md, Load counts); NULL on rows loaded before they
-- were counted, which only know written and skipped.
ALTER TABLE tributary.load_ledger ADD COLUMN IF NOT EXISTS inserted integer;
ALTER TABLE tributary.load_ledger ADD COLUMN IF NOT EXISTS updated integer;
ALTER TABLE tributary.load_ledger ADD COLUMN IF NOT EXISTS unchanged integer;
CREATE INDEX IF NOT EXISTS load_ledger_loaded_at ON tributary.load_ledger (pipeline, loaded_at);

-- Source transactions (docs/design.md, Source transactions): the processed messages of a change-data-
-- capture batch wait here, one row each, until the loader has every message of the batch (group); the
-- transaction that stages the last one loads them all and records the group as loaded.
CREATE TABLE IF NOT EXISTS tributary.txn_parts (
  pipeline     text        NOT NULL,
  group_id     text        NOT NULL,  -- the raw message ID (without its part)
  msg_id       text        NOT NULL,
  source       text        NOT NULL,
  part         integer     NOT NULL,  -- the raw part it came from (from 1), of parts
  parts        integer     NOT NULL,
  outputs      integer     NOT NULL,  -- processed messages that raw part gave
  lsn          pg_lsn      NOT NULL,  -- commit LSN of the group's newest transaction
  commit_time  timestamptz,
  dataset      text        NOT NULL,
  stream_seq   bigint      NOT NULL,
  ingested_at  float8      NOT NULL,  -- epoch ms
  source_time  text,                  -- the message's Trib-Source-Time
  model        text,
  body         bytea       NOT NULL,  -- the message's NDJSON, decoded again when the group is loaded
  staged_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline, group_id, msg_id)
);
CREATE INDEX IF NOT EXISTS txn_parts_position ON tributary.txn_parts (pipeline, source, lsn);
-- One row per loaded group: a redelivered message of it is not staged again; the monitor's
-- "consistent as of" is the newest group loaded with no older one still waiting.
CREATE TABLE IF NOT EXISTS tributary.txn_groups (
  pipeline     text        NOT NULL,
  group_id     text        NOT NULL,
  source       text        NOT NULL,
  lsn          pg_lsn      NOT NULL,
  commit_time  timestamptz,
  messages     integer     NOT NULL,
  loaded_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline, group_id)
);
CREATE INDEX IF NOT EXISTS txn_groups_position ON tributary.txn_groups (pipeline, source, lsn DESC);

-- One row per message seen on TRIB_RAW, TRIB_PROCESSED and TRIB_DLQ (headers only), keyed by
-- message ID so a message re-published after the duplicate window is still counted once.
CREATE TABLE IF NOT EXISTS tributary.stream_log (
  stream       text        NOT NULL,
  msg_id       text        NOT NULL,
  pipeline     text        NOT NULL,
  name         text        NOT NULL,  -- source (raw), dataset (processed), source or dataset (dlq)
  stage        text,                  -- dlq: ingest | transform | load
  error_code   text,                  -- dlq only
  records      integer     NOT NULL,
  filtered     integer     NOT NULL DEFAULT 0,
  ingested_at  timestamptz,
  seq          bigint      NOT NULL,
  logged_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream, msg_id)
);
CREATE INDEX IF NOT EXISTS stream_log_pipeline ON tributary.stream_log (pipeline, stream, name);
-- A message the DLQ console replayed (header Trib-Replay-Of): the dead letter's sequence. Its records
-- count as replayed, not as received or accepted again (docs/design.md, Counting invariant).
ALTER TABLE tributary.stream_log ADD COLUMN IF NOT EXISTS replay_of bigint;
-- Of filtered, records the pipeline counts elsewhere (header Trib-Routed): a dataset of a source with
-- several datasets filters the records its siblings take (docs/design.md, Counting invariant).
ALTER TABLE tributary.stream_log ADD COLUMN IF NOT EXISTS routed integer NOT NULL DEFAULT 0;

-- One row per dead letter folded from TRIB_DLQ; seq is its stream sequence (replay ID: replay:<seq>).
CREATE TABLE IF NOT EXISTS tributary.dead_letters (
  seq             bigint      PRIMARY KEY,
  msg_id          text        NOT NULL,
  pipeline        text        NOT NULL,
  stage           text        NOT NULL,  -- ingest | transform | load
  name            text        NOT NULL,  -- source or dataset
  error_code      text,
  error_message   text,
  error_location  jsonb,
  record          jsonb,                 -- the rejected record (a JSON string when it could not be decoded)
  original        jsonb,                 -- { stream, subject, seq, msgId, index } it came from
  replay_subject  text,
  attempts        integer,
  ingested_at     timestamptz,
  failed_at       timestamptz,
  logged_at       timestamptz NOT NULL DEFAULT now()
);
-- /api/dlq lists newest first, by pipeline or by pipeline and stage.
CREATE INDEX IF NOT EXISTS dead_letters_pipeline ON tributary.dead_letters (pipeline, seq DESC);
CREATE INDEX IF NOT EXISTS dead_letters_pipeline_stage ON tributary.dead_letters (pipeline, stage, seq DESC);
-- The source schema's fingerprint (Trib-Schema-Fingerprint) the record was checked against, when known.
ALTER TABLE tributary.dead_letters ADD COLUMN IF NOT EXISTS schema_fingerprint text;
-- Every reason of a record with several (each { field, message }, capped), and every field they name:
-- grouping by field counts a dead letter under each of its fields.
ALTER TABLE tributary.dead_letters ADD COLUMN IF NOT EXISTS error_details jsonb;
ALTER TABLE tributary.dead_letters ADD COLUMN IF NOT EXISTS error_fields text[];


-- One row per model run (loader after loads and on schedules, or \`tributary models\`).
CREATE TABLE IF NOT EXISTS tributary.model_runs (
  id           bigserial   PRIMARY KEY,
  pipeline     text        NOT NULL,
  model        text        NOT NULL,
  materialized text        NOT NULL,
  trigger      text        NOT NULL,  -- load | schedule | cli
  status       text        NOT NULL,  -- success | error
  rows         bigint,
  error        text,
  sql_hash     text,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS model_runs_model ON tributary.model_runs (pipeline, model, id DESC);

-- One row per check evaluation; tributary.check_status has the latest per check.
CREATE TABLE IF NOT EXISTS tributary.check_results (
  id           bigserial   PRIMARY KEY,
  run_id       text        NOT NULL,
  pipeline     text        NOT NULL,
  check_name   text        NOT NULL,
  table_name   text,
  kind         text        NOT NULL,
  severity     text        NOT NULL,  -- warn | error
  status       text        NOT NULL,  -- pass | fail | error
  failing_rows bigint      NOT NULL,
  sample       jsonb,                 -- up to 5 failing rows
  error        text,
  duration_ms  integer,
  checked_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS check_results_check ON tributary.check_results (pipeline, check_name, id DESC);
CREATE OR REPLACE VIEW tributary.check_status AS
  SELECT DISTINCT ON (pipeline, check_name) * FROM tributary.check_results ORDER BY pipeline, check_name, id DESC;

-- One row per partition retention dropped (or DEFAULT rows it deleted), and per failed attempt.
CREATE TABLE IF NOT EXISTS tributary.retention_runs (
  id             bigserial   PRIMARY KEY,
  pipeline       text        NOT NULL,
  table_name     text        NOT NULL,
  partition_name text        NOT NULL,
  action         text        NOT NULL,  -- dropped (a whole partition) | swept (expired rows of DEFAULT)
  status         text        NOT NULL,  -- ok | error
  range_start    date,                  -- dropped: the partition's interval; swept: NULL
  range_end      date,                  -- dropped: end of the interval; swept: rows before this were deleted
  rows           bigint,
  archive        text,                  -- where the rows were written; NULL with retention_archive: false
  error          text,
  started_at     timestamptz NOT NULL,
  finished_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS retention_runs_table ON tributary.retention_runs (pipeline, table_name, id DESC);

-- Warehouse tables \`migrate\` could not bring to their spec (incompatible change): stopped until fixed.
CREATE TABLE IF NOT EXISTS tributary.table_status (
  pipeline     text        NOT NULL,
  table_name   text        NOT NULL,
  status       text        NOT NULL,  -- ok | incompatible
  problems     jsonb       NOT NULL DEFAULT '[]',
  checked_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline, table_name)
);

-- The monitor's own tables (it only checks for them at start, so it needs no CREATE right).
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
-- How a replay changed the records first: {"expression": "..."} or {"edited": [seq, ...]}.
ALTER TABLE tributary.dlq_actions ADD COLUMN IF NOT EXISTS fix jsonb;

-- The latest action on each dead letter (absent: still open).
CREATE TABLE IF NOT EXISTS tributary.dead_letter_state (
  seq        bigint      PRIMARY KEY,
  status     text        NOT NULL CHECK (status IN ('replayed', 'discarded')),
  action_id  bigint      NOT NULL REFERENCES tributary.dlq_actions (id),
  at         timestamptz NOT NULL DEFAULT now(),
  replay_seq bigint                  -- the stream sequence the replay got in its target stream
);
-- The record as replayed when the operator fixed it first (NULL: replayed as stored).
ALTER TABLE tributary.dead_letter_state ADD COLUMN IF NOT EXISTS replayed_record jsonb;

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

-- Schema drift per dataset, field and kind, folded by the monitor from the drift events on
-- trib.events.<pipeline>.drift (docs/transforms.md, Schema drift): count adds each event's
-- new_count, the other columns keep the latest event's view.
CREATE TABLE IF NOT EXISTS tributary.schema_drift (
  pipeline    text        NOT NULL,
  dataset     text        NOT NULL,
  field       text        NOT NULL,
  kind        text        NOT NULL,
  source      text        NOT NULL,
  expected    text,
  seen        text        NOT NULL,
  policy      text        NOT NULL,
  action      text        NOT NULL,
  column_type text,
  first_seen  timestamptz NOT NULL,
  last_seen   timestamptz NOT NULL,
  count       bigint      NOT NULL,
  events      integer     NOT NULL DEFAULT 1,
  -- When the monitor folded the latest event: TributarySchemaDrift fires on recent ones.
  folded_at   timestamptz NOT NULL DEFAULT now(),
  sample      jsonb,
  PRIMARY KEY (pipeline, dataset, field, kind)
);

-- The monitor's pipeline page charts accepted records over ingest time.
CREATE INDEX IF NOT EXISTS stream_log_ingested ON tributary.stream_log (pipeline, stream, ingested_at);
`;

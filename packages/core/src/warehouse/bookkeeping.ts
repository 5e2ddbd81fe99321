/**
 * Tributary's own tables in schema `tributary`: the load ledger (exactly-once, DESIGN.md §4) and
 * the stream log the monitor folds message headers into (durable counts that survive restarts).
 */

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
  records      integer     NOT NULL,  -- records the message carried for this table
  written      integer     NOT NULL,  -- rows inserted or updated
  skipped      integer     NOT NULL,  -- append with key: records whose key was already present
  ingested_at  timestamptz,
  loaded_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline, table_name, msg_id)
);
CREATE INDEX IF NOT EXISTS load_ledger_loaded_at ON tributary.load_ledger (pipeline, loaded_at);

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
`;

/**
 * Stream names, subjects and durable consumer names: the wire contract of docs/design.md.
 */

/** The five streams. */
export const STREAMS = {
  raw: 'TRIB_RAW',
  processed: 'TRIB_PROCESSED',
  loaded: 'TRIB_LOADED',
  dlq: 'TRIB_DLQ',
  events: 'TRIB_EVENTS',
} as const;

/** A stage that can dead-letter records. */
export type Stage = 'ingest' | 'transform' | 'load';

/** Subject builders. */
export const subjects = {
  raw: (pipeline: string, source: string): string => `trib.raw.${pipeline}.${source}`,
  processed: (pipeline: string, dataset: string): string => `trib.processed.${pipeline}.${dataset}`,
  loaded: (pipeline: string, table: string): string => `trib.loaded.${pipeline}.${table}`,
  dlq: (pipeline: string, stage: Stage, name: string): string => `trib.dlq.${pipeline}.${stage}.${name}`,
  events: (pipeline: string, name: string): string => `trib.events.${pipeline}.${name}`,
  /** Dry runs of records through a pipeline's steps (NATS request/reply, answered by the transformer; see wire/preview.ts). */
  preview: (pipeline: string): string => `trib.preview.${pipeline}`,
  /** All subjects of one pipeline in a stream, e.g. `trib.raw.traffic.>`. */
  pipelineFilter: (kind: 'raw' | 'processed' | 'loaded' | 'dlq' | 'events', pipeline: string): string => `trib.${kind}.${pipeline}.>`,
};

/** Splits a subject into its tokens after the stream prefix: `trib.raw.p.s` -> `['p','s']`. */
export function subjectTokens(subject: string): string[] {
  return subject.split('.').slice(2);
}

/** Durable consumer names: one per stage and pipeline, shared by the stage's replicas. */
export const consumers = {
  transformer: (pipeline: string): string => `transformer-${pipeline}`,
  loader: (pipeline: string): string => `loader-${pipeline}`,
  /** The loader's archiver: one per pipeline in each archived stream (TRIB_RAW, TRIB_PROCESSED). */
  archiver: (pipeline: string): string => `archiver-${pipeline}`,
  /** The monitor folds batch headers of each stream into durable counts, and drift events (TRIB_EVENTS) into `tributary.schema_drift`. */
  monitor: (stream: 'raw' | 'processed' | 'dlq' | 'drift'): string => `monitor-${stream}`,
};

/** JetStream KV buckets. */
export const BUCKETS = {
  /** Replies to requests sent with an Idempotency-Key, so a repeat gets the first reply back. */
  idempotency: 'trib_idempotency',
  /** Leases: which replica runs a pull source right now (see KvLease). */
  leases: 'trib_leases',
  /** Pull-source positions (page cursors, LSNs, file offsets), committed after JetStream acked the records before them. */
  cursors: 'trib_cursors',
  /** Transformer state that must outlive a batch: reference datasets for `enrich`, join buffers (entries deleted by their steps). */
  state: 'trib_state',
  /** `dedupe` keys: the first record kept per key; entries expire with the bucket's max age. */
  dedupe: 'trib_dedupe',
  /** `join` state per key: records waiting for a partner, partners, released timeouts (no TTL: steps delete empty entries). */
  join: 'trib_join',
  /** `sliding` and `session` state per key (no TTL: entries are pruned and deleted by their steps). */
  windows: 'trib_windows',
} as const;

/**
 * transformer configuration, read once from the environment.
 */
import { commonEnv, envDuration, envInt, envPort, readEnv, topologyEnv } from '@tributary/runtime/env-config';
import { z } from 'zod';

/** The variables this service reads, with their defaults (docs/configuration.md is generated from it). */
export const configSchema = z.object({
  ...commonEnv,
  TRIBUTARY_MAX_DELIVER: topologyEnv.TRIBUTARY_MAX_DELIVER,
  /** HTTP port (health, readiness, metrics). */
  TRANSFORMER_PORT: envPort(8082),
  /** Raw messages handled at once per pipeline. */
  TRANSFORMER_BATCH_MESSAGES: envInt(16, 1),
  // 2 MiB, not 4: on a quiet machine the push's peak RSS 204/196 -> 175/176 MiB and the file
  // scenario's 218/207 -> 191/202, CPU per record the same (docs/PERFORMANCE.md, seventh round).
  /** Raw message bytes taken in one batch, shared by the process's pipelines (at least one message each); as much again is queued, and pulled ahead. Bounds memory when messages are large. */
  TRANSFORMER_FETCH_BYTES: envInt(2 * 1024 * 1024, 1024),
  /**
   * Inputs decoded and transformed at the same time, across the process's pipelines (their
   * publishes overlap regardless). Low keeps the working set small: records die young, which
   * costs the garbage collector far less than records promoted while they wait for PubAcks.
   */
  TRANSFORMER_CONCURRENCY: envInt(2, 1),
  /** Bytes per processed message (under the server's max_payload). */
  TRANSFORMER_BATCH_BYTES: envInt(768 * 1024, 1024),
  /** Publishes in flight per process. */
  TRANSFORMER_MAX_INFLIGHT: envInt(512, 1),
  /** Key of `$hmac()`, which pseudonymises values (e.g. plates). Set it in production. */
  TRIBUTARY_HMAC_KEY: z.string().min(16, 'must be at least 16 characters').default('tributary-development-key-change-me'),
  /** How often windows of aggregate tables are checked against their watermark and finalized. */
  TRANSFORMER_FINALIZE_INTERVAL: envDuration('1s'),
  /** How often join timeouts, idle sessions and idle state of the stateful steps are swept. */
  TRANSFORMER_SWEEP_INTERVAL: envDuration('5s'),
  /** How often each pipeline's pause (`pause.<pipeline>` in `trib_cursors`) is read: a paused pipeline's consumer loop stops within this long. */
  TRANSFORMER_PAUSE_POLL: envDuration('1s'),
  /** Schema drift events (`trib.events.<pipeline>.drift`): at most one per dataset, field and kind per this long; the first is sent at once. */
  TRANSFORMER_DRIFT_EVENT_INTERVAL: envDuration('1m'),
  /** PostgreSQL connections per process, for `enrich` from tables and window finalization. */
  TRANSFORMER_POOL_SIZE: envInt(2, 1),
  /** Only run these pipelines (comma-separated); all when unset. */
  TRANSFORMER_ONLY: z.string().optional(),
});

/** Parsed transformer configuration. */
export type TransformerConfig = z.output<typeof configSchema>;

/** Reads and validates the configuration; throws TRIB_E_CONFIG naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TransformerConfig {
  return readEnv(configSchema, env);
}

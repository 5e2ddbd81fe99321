/**
 * loader configuration, read once from the environment.
 */
import { archiveEnv } from '@tributary/archive';
import { commonEnv, envDuration, envInt, envPort, readEnv, topologyEnv } from '@tributary/runtime/env-config';
import { z } from 'zod';

/** The variables this service reads, with their defaults (docs/configuration.md is generated from it). */
export const configSchema = z.object({
  ...commonEnv,
  /** Where and whether pipelines without an `archive:` section are archived (ARCHIVE_DIR, ARCHIVE_ALL). */
  ...archiveEnv,
  TRIBUTARY_MAX_DELIVER: topologyEnv.TRIBUTARY_MAX_DELIVER,
  /** HTTP port (health, readiness, metrics). */
  LOADER_PORT: envPort(8083),
  /** Processed messages loaded in one transaction. */
  LOADER_BATCH_MESSAGES: envInt(64, 1),
  // 2 MiB, not 4: the CDC snapshot's loader peaked 9 MiB lower (ArrayBuffers 27 against 38) at no CPU cost measured (docs/PERFORMANCE.md, seventh round).
  /** Processed message bytes loaded in one transaction, shared by the process's pipelines (at least one message each); as much again is queued, and pulled ahead. Bounds memory when messages are large. */
  LOADER_FETCH_BYTES: envInt(2 * 1024 * 1024, 1024),
  /** PostgreSQL connections per process (one transaction in flight per pipeline). */
  LOADER_POOL_SIZE: envInt(4, 1),
  /** How often models downstream of freshly loaded tables (and their checks) run, in ms. */
  LOADER_MODELS_INTERVAL_MS: envInt(5000, 100),
  /** Only run these pipelines (comma-separated); all when unset. */
  LOADER_ONLY: z.string().optional(),
  /** How often partitions are premade and retention runs (also once at start). */
  RETENTION_INTERVAL: envDuration('1h'),
  /** Folder retention writes partitions to (`<pipeline>/<table>/<partition>.ndjson.gz`) before dropping them. */
  RETENTION_ARCHIVE_DIR: z.string().default('.tributary/archive/tables'),
});

/** Parsed loader configuration. */
export type LoaderConfig = z.output<typeof configSchema>;

/** Reads and validates the configuration; throws TRIB_E_CONFIG naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LoaderConfig {
  return readEnv(configSchema, env);
}

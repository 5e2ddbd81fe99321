/**
 * monitor configuration, read once from the environment.
 */
import { commonEnv, envDuration, envInt, envPort, readEnv } from '@tributary/core';
import { z } from 'zod';

const schema = z.object({
  ...commonEnv,
  MONITOR_PORT: envPort(8080),
  /**
   * How long one status snapshot (counts, lag, freshness) is reused by `/api` and `/metrics`,
   * so many dashboards and scrapers cost one set of queries per period. `0ms` turns caching off.
   */
  MONITOR_REFRESH: envDuration('2s'),
  /** Messages folded into PostgreSQL per transaction by each fold loop. */
  MONITOR_FOLD_BATCH: envInt(500, 1),
  /** Connections in the PostgreSQL pool (three fold loops plus HTTP queries). */
  MONITOR_DB_POOL: envInt(6, 2),
  /** Timeout of JetStream API requests (consumer info for lag) and of the readiness probe of PostgreSQL. */
  MONITOR_REQUEST_TIMEOUT: envDuration('2s'),
  /** Most dead letters one `/api/dlq` request returns. */
  MONITOR_DLQ_MAX_LIMIT: envInt(1000, 1),
});

/** Parsed monitor configuration. */
export type MonitorConfig = z.output<typeof schema>;

/** Reads and validates the configuration; throws TRIB_E_CONFIG naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): MonitorConfig {
  return readEnv(schema, env);
}

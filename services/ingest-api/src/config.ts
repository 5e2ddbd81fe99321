/**
 * ingest-api configuration, read once from the environment.
 */
import { commonEnv, envInt, envPort, readEnv } from '@tributary/runtime/env-config';
import { parseDuration } from '@tributary/contract/spec';
import { z } from 'zod';

/** Default lease TTL of a pull source (see INGEST_LEASE_TTL_MS). */
export const DEFAULT_LEASE_TTL_MS = 2_100;

/** The variables this service reads, with their defaults (docs/configuration.md is generated from it). */
export const configSchema = z.object({
  ...commonEnv,
  /** HTTP port of the ingest API. */
  INGEST_PORT: envPort(8081),
  /** Largest request body accepted, in bytes (413 beyond). */
  INGEST_MAX_BODY_BYTES: envInt(32 * 1024 * 1024, 1024),
  /**
   * Request body bytes held at once (received, parsing, publishing); beyond it requests get 503
   * with Retry-After before their body is read, which bounds memory under bursts of large uploads.
   */
  INGEST_MAX_PENDING_BYTES: envInt(64 * 1024 * 1024, 1024),
  /** Records per JetStream message; bigger bodies are split into parts. */
  INGEST_BATCH_RECORDS: envInt(1000, 1),
  /** Bytes per JetStream message (must stay under the server's max_payload, 1 MiB by default). */
  INGEST_BATCH_BYTES: envInt(768 * 1024, 1024),
  /** Publishes in flight per process. */
  INGEST_MAX_INFLIGHT: envInt(256, 1),
  /** Requests per second per client (API key, or address without keys); 0 turns limiting off. */
  INGEST_RATE_LIMIT: envInt(0, 0),
  /** Burst allowance of the rate limit, in requests. */
  INGEST_RATE_BURST: envInt(50, 1),
  /** Inline API keys: `name:sha256hex:pipeline|pipeline,...` (`*` for every pipeline). */
  TRIBUTARY_API_KEYS: z.string().optional(),
  /** File of API keys (JSON `[{name, sha256, pipelines}]`), re-read when it changes. */
  TRIBUTARY_API_KEYS_FILE: z.string().optional(),
  /** Run generator sources in this process (`false` on replicas that should only serve HTTP). */
  INGEST_GENERATORS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Overrides every generator's `duration` (`30m`, or `unbounded` for load tests and soaks). */
  GENERATOR_DURATION: z
    .string()
    .optional()
    .transform((v, ctx): number | 'unbounded' | undefined => {
      if (v === undefined || v === 'unbounded') return v;
      try {
        return parseDuration(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** Run pull sources (rest, postgres_cdc, file, ...) in this process; one replica at a time runs each. */
  INGEST_PULL_SOURCES: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /**
   * Lease time-to-live of a pull source: a dead replica's sources move to another after at most
   * this long plus a third of it (the contenders' beat): 2.1 s keeps a hand-over under 3 s, for
   * one small KV update per source every 0.7 s.
   */
  INGEST_LEASE_TTL_MS: envInt(DEFAULT_LEASE_TTL_MS, 300),
});

/** Parsed ingest-api configuration. */
export type IngestConfig = z.output<typeof configSchema>;

/** Reads and validates the configuration; throws TRIB_E_CONFIG naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  return readEnv(configSchema, env);
}

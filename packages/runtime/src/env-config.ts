/**
 * Reads configuration from environment variables once, validates it with zod, reports every
 * problem at once (naming each variable), and freezes the result.
 */
import { z } from 'zod';
import { TributaryError } from '@tributary/contract/errors';
import { parseDuration } from '@tributary/contract/spec';
import { DEFAULT_TOPOLOGY, type TopologyOptions } from './nats/topology';
import { parseByteSize } from './nats/storage-budget';

/** Parses `schema` from `env`; throws TRIB_E_CONFIG listing every invalid variable. */
export function readEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): Readonly<z.output<S>> {
  const r = schema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new TributaryError('TRIB_E_CONFIG', `invalid configuration:\n${lines.join('\n')}`, { details: r.error.issues });
  }
  return Object.freeze(r.data);
}

/** A duration variable (`30s`, `5m`), parsed to ms. */
export const envDuration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      try {
        return parseDuration(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    });

/** An integer variable with a minimum. */
export const envInt = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

/** A port number variable. */
export const envPort = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/** The user a connection string without one connects as (PostgreSQL's own superuser name). */
export const DEFAULT_DATABASE_USER = 'postgres';

/**
 * `url` with a user name: the URL's own, else `postgres`. Without this, node-postgres falls back
 * to the OS user from `$USER`, which is unset under `docker exec`, cron and CI, and then fails with
 * "no PostgreSQL user name specified in startup packet" (docs/operations.md).
 */
export function withDatabaseUser(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url; // not a URL (a libpq keyword string): passed on as written
  }
  if (u.username || u.searchParams.has('user')) return url;
  u.username = DEFAULT_DATABASE_USER;
  return u.toString();
}

/** Variables every service reads. */
export const commonEnv = {
  /** NATS server(s); for a cluster every server, comma-separated (clients fail over). */
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  /** PostgreSQL warehouse; without a user in the URL, `postgres` (a login per service: SECURITY.md). */
  DATABASE_URL: z.string().default('postgres://127.0.0.1:5432/tributary').transform(withDatabaseUser),
  /** Pipeline files: a folder, one file, or a glob such as `dir/*.yaml`. */
  TRIBUTARY_PIPELINES: z.string().default('pipelines'),
  /** Log level of the JSON logs. */
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Address the HTTP server listens on. */
  HOST: z.string().default('0.0.0.0'),
  /** HTTPS for the HTTP server: PEM certificate (chain); with HTTP_TLS_KEY_FILE, HTTPS only, with HSTS. */
  HTTP_TLS_CERT_FILE: z.string().optional(),
  /** PEM private key of HTTP_TLS_CERT_FILE (both or neither). */
  HTTP_TLS_KEY_FILE: z.string().optional(),
  /** NATS user name (user and password authentication). */
  NATS_USER: z.string().optional(),
  /** NATS password (prefer NATS_PASSWORD_FILE). */
  NATS_PASSWORD: z.string().optional(),
  /** File holding the NATS password (a mounted secret). */
  NATS_PASSWORD_FILE: z.string().optional(),
  /** NATS token (prefer NATS_TOKEN_FILE). */
  NATS_TOKEN: z.string().optional(),
  /** File holding the NATS token. */
  NATS_TOKEN_FILE: z.string().optional(),
  /** File holding an NKey seed for NATS authentication. */
  NATS_NKEY_SEED_FILE: z.string().optional(),
  /** NATS credentials file (JWT and seed). */
  NATS_CREDS_FILE: z.string().optional(),
  /** CA bundle that signs the NATS servers' certificates. */
  NATS_TLS_CA_FILE: z.string().optional(),
  /** Client certificate for NATS mutual TLS. */
  NATS_TLS_CERT_FILE: z.string().optional(),
  /** Key of NATS_TLS_CERT_FILE. */
  NATS_TLS_KEY_FILE: z.string().optional(),
};

/** Variables that tune the JetStream topology (read by `migrate` and by consumers). */
export const topologyEnv = {
  /** Storage cap of each stream; a full stream rejects new messages (ingest answers 503). Read by migrate. */
  TRIBUTARY_STREAM_MAX_BYTES: envInt(DEFAULT_TOPOLOGY.maxBytes, 1024 * 1024),
  /** Storage cap of TRIB_RAW alone (the stream outside clients fill); TRIBUTARY_STREAM_MAX_BYTES when unset. */
  TRIBUTARY_RAW_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024 * 1024)
    .optional(),
  /** JetStream file storage the five streams may reserve together (`5Gi`, `2GB`, bytes): caps follow it. */
  TRIBUTARY_JETSTREAM_MAX_BYTES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      const bytes = parseByteSize(v);
      if (bytes === undefined || bytes < 64 * 1024 * 1024) {
        ctx.addIssue({ code: 'custom', message: `"${v}" is not a size of at least 64Mi (e.g. 5Gi, 512Mi, 2GB)` });
        return z.NEVER;
      }
      return bytes;
    }),
  /** Age after which stream messages are removed. Read by migrate. */
  TRIBUTARY_STREAM_MAX_AGE: envDuration('7d'),
  /** JetStream's duplicate window: a message ID seen within it is dropped (the ledger catches later repeats). */
  TRIBUTARY_DUPLICATE_WINDOW: envDuration('2m'),
  /** How long a consumer waits for an ack before redelivering. Read by migrate. */
  TRIBUTARY_ACK_WAIT: envDuration('30s'),
  /** Deliveries of a message before it is dead-lettered whole (consumers are created with it). */
  TRIBUTARY_MAX_DELIVER: envInt(DEFAULT_TOPOLOGY.maxDeliver, 2),
  /** Un-acked messages a consumer allows in flight. Read by migrate. */
  TRIBUTARY_MAX_ACK_PENDING: envInt(DEFAULT_TOPOLOGY.maxAckPending, 1),
  /** Replicas of every stream and KV bucket; 3 on a JetStream cluster (at most its servers). */
  TRIBUTARY_STREAM_REPLICAS: envInt(1, 1),
  /** How long ingest remembers an `Idempotency-Key` and its reply. */
  TRIBUTARY_IDEMPOTENCY_TTL: envDuration('24h'),
};

/** Turns parsed topology variables into TopologyOptions. */
export function topologyFromEnv(e: {
  TRIBUTARY_STREAM_MAX_BYTES: number;
  TRIBUTARY_RAW_MAX_BYTES?: number;
  TRIBUTARY_JETSTREAM_MAX_BYTES?: number;
  TRIBUTARY_STREAM_MAX_AGE: number;
  TRIBUTARY_DUPLICATE_WINDOW: number;
  TRIBUTARY_ACK_WAIT: number;
  TRIBUTARY_MAX_DELIVER: number;
  TRIBUTARY_MAX_ACK_PENDING: number;
  TRIBUTARY_STREAM_REPLICAS: number;
  TRIBUTARY_IDEMPOTENCY_TTL: number;
}): TopologyOptions {
  return {
    maxBytes: e.TRIBUTARY_STREAM_MAX_BYTES,
    ...(e.TRIBUTARY_RAW_MAX_BYTES === undefined ? {} : { rawMaxBytes: e.TRIBUTARY_RAW_MAX_BYTES }),
    ...(e.TRIBUTARY_JETSTREAM_MAX_BYTES === undefined ? {} : { storageBudget: e.TRIBUTARY_JETSTREAM_MAX_BYTES }),
    maxAgeMs: e.TRIBUTARY_STREAM_MAX_AGE,
    duplicateWindowMs: e.TRIBUTARY_DUPLICATE_WINDOW,
    ackWaitMs: e.TRIBUTARY_ACK_WAIT,
    maxDeliver: e.TRIBUTARY_MAX_DELIVER,
    maxAckPending: e.TRIBUTARY_MAX_ACK_PENDING,
    replicas: e.TRIBUTARY_STREAM_REPLICAS,
    idempotencyTtlMs: e.TRIBUTARY_IDEMPOTENCY_TTL,
  };
}

/**
 * Connections: a base URL or database plus its credentials, declared once by name at the top of
 * a pipeline (`connections:`) and referenced by the sources that use them (`connection: <name>`).
 * Secrets are never written in the spec: they are `env:VAR` or `file:/path` references, resolved
 * at run time by `resolveSecret` and never logged.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TributaryError } from '../errors';
import { duration } from './common';

/** A secret reference: `env:NAME` (environment variable) or `file:/path` (a mounted file). */
export const secretRef = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, 'must be env:VARIABLE or file:/path (secrets are never written in the spec)')
  .meta({ description: 'Where a secret comes from: `env:NAME` or `file:/path/to/mounted/secret`.' });

/** Resolves a secret reference; a missing variable or unreadable file is TRIB_E_CONFIG naming it (not its value). */
export function resolveSecret(ref: string, env: NodeJS.ProcessEnv = process.env): string {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const v = env[name];
    if (v === undefined || v === '') throw new TributaryError('TRIB_E_CONFIG', `secret ${ref}: environment variable ${name} is not set`);
    return v;
  }
  const file = ref.slice(5);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new TributaryError('TRIB_E_CONFIG', `secret ${ref}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: err,
    });
  }
}

/** How an HTTP connection authenticates. */
export const httpAuthSpec = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('api_key'),
    in: z.enum(['query', 'header']).meta({ description: 'Send the key as a query parameter or a header.' }),
    name: z.string().min(1).meta({ description: 'Query parameter or header name, e.g. `apikey` or `X-Api-Key`.' }),
    secret: secretRef,
  }),
  z.strictObject({ type: z.literal('bearer'), secret: secretRef }),
  z.strictObject({ type: z.literal('basic'), username: z.string(), secret: secretRef }),
]);

/** An HTTP API. */
export const httpConnectionSpec = z
  .strictObject({
    kind: z.literal('http'),
    base_url: z
      .string()
      .url()
      .meta({ description: 'Base URL; source paths are relative to it. May be overridden at run time by `base_url_env`.' }),
    base_url_env: z
      .string()
      .optional()
      .meta({ description: 'Environment variable that, when set, replaces `base_url` (e.g. to point at a local test server).' }),
    auth: httpAuthSpec.optional(),
    headers: z.record(z.string(), z.string()).default({}).meta({ description: 'Headers sent with every request (no secrets here).' }),
    timeout: z.string().default('30s').meta({ description: 'Per-request timeout.' }),
    budget: z
      .strictObject({
        requests: z.number().int().min(1).meta({ description: 'Requests allowed per interval.' }),
        per: duration.meta({ description: 'The interval, e.g. `1m` or `1d`.' }),
        margin: z.number().min(0).max(0.9).default(0).meta({
          description:
            'Fraction of the budget held back, e.g. `0.2` sends at most 80% of `requests` per `per`: room for clock and network jitter, and for other clients of the same key.',
        }),
      })
      .optional()
      .meta({
        description:
          "Request budget of this API key: at most `requests` in any sliding `per` (less `margin`), shared by every source, pipeline and replica that reaches the same API with the same credentials (a log in JetStream KV). Requests wait for room; a 429's `Retry-After` or `X-RateLimit-Remaining: 0` holds every one of them until the API's time.",
      }),
    description: z.string().optional(),
  })
  .meta({ title: 'http connection' });

/** A PostgreSQL database. */
export const postgresConnectionSpec = z
  .strictObject({
    kind: z.literal('postgres'),
    url: secretRef.meta({ description: 'Connection URL (it carries the password), as `env:VAR` or `file:/path`.' }),
    description: z.string().optional(),
  })
  .meta({ title: 'postgres connection' });

/** An S3-compatible bucket. */
export const s3ConnectionSpec = z
  .strictObject({
    kind: z.literal('s3'),
    endpoint: z.string().url().optional().meta({ unset: 'AWS', description: 'Endpoint of an S3-compatible server; AWS when unset.' }),
    region: z.string().default('us-east-1'),
    bucket: z.string().min(1),
    access_key_id: secretRef,
    secret_access_key: secretRef,
    force_path_style: z.boolean().default(true),
    description: z.string().optional(),
  })
  .meta({ title: 's3 connection' });

/** A ClickHouse server, spoken to over its HTTP interface (the loader's ClickHouse sink). */
export const clickhouseConnectionSpec = z
  .strictObject({
    kind: z.literal('clickhouse'),
    url: z
      .string()
      .regex(/^(https?:\/\/\S+|env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, 'must be an http(s) URL, env:VARIABLE or file:/path')
      .meta({ description: 'HTTP interface URL, e.g. `http://clickhouse:8123`, or `env:VAR` / `file:/path` holding it.' }),
    user: z.string().min(1).default('default').meta({ description: 'User name, or `env:VAR` / `file:/path` holding it.' }),
    password: secretRef
      .optional()
      .meta({ unset: 'no password', description: 'Password of `user`, as `env:VAR` or `file:/path`; none when unset.' }),
    database: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower snake_case')
      .default('warehouse')
      .meta({ description: 'Database of the tables (created by `migrate` when missing).' }),
    timeout: duration.default(30_000).meta({ unset: '`30s`', description: 'Per-request timeout, e.g. `10s` (default `30s`).' }),
    description: z.string().optional(),
  })
  .meta({ title: 'clickhouse connection' });

/** A connection declaration. */
export const connectionSpec = z.discriminatedUnion('kind', [
  httpConnectionSpec,
  postgresConnectionSpec,
  s3ConnectionSpec,
  clickhouseConnectionSpec,
]);

/** A parsed connection. */
export type ConnectionSpec = z.output<typeof connectionSpec>;

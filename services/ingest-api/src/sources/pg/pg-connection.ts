/**
 * Opens clients to a pipeline's `postgres` connection. Every session runs in UTC with ISO dates,
 * so timestamps in records do not depend on the server's or the process's time zone.
 */
import { resolveSecret, type Pipeline } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { withDatabaseUser } from '@tributary/runtime/env-config';
import { Client, type ClientConfig } from 'pg';
import { recordTypes } from './pg-values';

/** Session settings sent at connection start (also honoured by walsender connections). */
const SESSION_OPTIONS = '-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3';

/**
 * Resolves `connection` of `source` to its URL. Throws TRIB_E_CONFIG when the connection is not a
 * `postgres` one or its secret cannot be read. Called at run time: secrets are read then, not at
 * start-up, so a rotated file is picked up.
 */
export function postgresUrl(pipeline: Pipeline, source: string, connection: string): string {
  const conn = pipeline.connections[connection];
  if (!conn) throw new TributaryError('TRIB_E_CONFIG', `source "${source}": unknown connection "${connection}"`);
  if (conn.kind !== 'postgres') {
    throw new TributaryError('TRIB_E_CONFIG', `source "${source}": connection "${connection}" is ${conn.kind}, not postgres`);
  }
  return resolveSecret(conn.url);
}

/** Checks at construction time (no network) that `connection` names a postgres connection. */
export function checkPostgresConnection(pipeline: Pipeline, source: string, connection: string): void {
  const conn = pipeline.connections[connection];
  if (!conn || conn.kind !== 'postgres') {
    throw new TributaryError(
      'TRIB_E_CONFIG',
      `source "${source}" of pipeline "${pipeline.name}": connection "${connection}" must be a declared postgres connection`,
    );
  }
}

/** Connects a client; `replication: true` opens a walsender (logical replication) session. */
export async function connectPostgres(url: string, opts: { replication?: boolean; application?: string } = {}): Promise<Client> {
  const config: ClientConfig & { replication?: string } = {
    connectionString: withDatabaseUser(url),
    options: SESSION_OPTIONS,
    types: recordTypes,
    application_name: opts.application ?? 'tributary-ingest',
    connectionTimeoutMillis: 10_000,
    ...(opts.replication ? { replication: 'database' } : {}),
  };
  const client = new Client(config);
  // A connection dropped while idle emits 'error' on the client: the next query fails and the
  // run ends with that error, so here it only must not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new TributaryError('TRIB_E_UNAVAILABLE', `cannot connect to PostgreSQL: ${(err as Error).message}`, { cause: err });
  }
  return client;
}

/** Quotes an identifier for SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table` (default schema public) split and quoted; unquoted names fold to lower case, as in SQL. */
export function splitTable(qualified: string): { schema: string; table: string; sql: string; name: string } {
  const lower = qualified.toLowerCase();
  const [schema, table] = lower.includes('.') ? (lower.split('.') as [string, string]) : ['public', lower];
  return { schema, table, sql: `${quoteIdent(schema)}.${quoteIdent(table)}`, name: `${schema}.${table}` };
}

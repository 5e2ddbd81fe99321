/**
 * Runs a report's query safely: as the read-only warehouse role (`tributary_reader`), in a
 * READ ONLY transaction that is always rolled back, with a statement timeout, through a cursor
 * that fetches at most `maxRows + 1` rows (so the row cap is exact and says when it cut), and
 * with inputs bound as typed parameters. The extended protocol is forced, so a query can never
 * carry a second statement. Values keep their digits: bigint and numeric stay strings, times
 * come back as ISO 8601 in UTC.
 */
import { bindSql, type InputSpec, type Report, type ReportQuery } from '@tributary/contract/reports';
import { TributaryError } from '@tributary/contract/errors';
import { DATABASE_ROLES } from '@tributary/warehouse/database-roles';
import { guardClient } from '@tributary/warehouse/guard-client';
import { ident, WAREHOUSE_SCHEMA } from '@tributary/warehouse/sql';
import { sqlState } from '@tributary/warehouse/pg-error-kind';
import path from 'node:path';
import type { Pool, PoolClient, QueryConfig } from 'pg';

/** Limits of report queries. */
export interface QueryLimits {
  statementTimeoutMs: number;
  maxRows: number;
  /** The role queries run as (`SET LOCAL ROLE`); the reader role unless configured otherwise. */
  role?: string;
  /** No parallel workers (`max_parallel_workers_per_gather = 0`): background re-runs use one core. */
  serial?: boolean;
}

/** A column of a result, with a coarse type the page formats by. */
export interface ResultColumn {
  name: string;
  type: 'number' | 'decimal' | 'text' | 'date' | 'time' | 'bool' | 'json';
}

/** Rows of one query. */
export interface QueryResult {
  columns: ResultColumn[];
  rows: unknown[][];
  /** More rows existed than the cap. */
  truncated: boolean;
  ms: number;
}

/** Input values after defaults, as bound: date ranges as `YYYY-MM-DD`, the others as text or NULL. */
export type InputValues = Record<string, string | null | { from: string; to: string }>;

const COLUMN_TYPES: Record<number, ResultColumn['type']> = {
  16: 'bool',
  20: 'decimal',
  21: 'number',
  23: 'number',
  26: 'number',
  700: 'number',
  701: 'number',
  1700: 'decimal',
  1082: 'date',
  1114: 'time',
  1184: 'time',
  114: 'json',
  3802: 'json',
};

/** Parses values without losing digits: only types a double holds exactly become numbers. */
function parseValue(oid: number, v: string): unknown {
  switch (COLUMN_TYPES[oid]) {
    case 'number':
      return Number(v);
    case 'bool':
      return v === 't';
    case 'time':
      // The session runs in UTC: `2026-01-02 03:04:05.123456+00` -> `2026-01-02T03:04:05.123456Z`.
      return v.replace(' ', 'T').replace(/\+00$/, 'Z');
    case 'json':
      return JSON.parse(v);
    default:
      return v;
  }
}

const RAW = { getTypeParser: () => (v: string) => v };

/** Resolves a date expression (`today`, `-7d`, `2026-01-31`) to `YYYY-MM-DD`, UTC. */
export function resolveDate(expr: string, now = new Date()): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(expr)) return expr;
  const days = expr === 'today' ? 0 : Number(expr.slice(0, -1));
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + days)).toISOString().slice(0, 10);
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** Longest text input accepted. */
const MAX_TEXT = 200;

/** Reads input values from a request's query string, falling back to defaults; bad values are TRIB_E_PARSE. */
export function inputValues(inputs: Record<string, InputSpec>, query: Record<string, unknown>): InputValues {
  const out: InputValues = {};
  const str = (k: string): string | undefined => {
    const v = query[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new TributaryError('TRIB_E_PARSE', `input ${k}: give one value`);
    return v;
  };
  for (const [name, spec] of Object.entries(inputs)) {
    if (spec.kind === 'date_range') {
      const from = str(`${name}.from`) ?? resolveDate(spec.default?.from ?? '-30d');
      const to = str(`${name}.to`) ?? resolveDate(spec.default?.to ?? 'today');
      for (const [part, v] of [
        ['from', from],
        ['to', to],
      ] as const)
        if (!DATE.test(v) || Number.isNaN(Date.parse(v)))
          throw new TributaryError('TRIB_E_PARSE', `input ${name}.${part}: expected a date YYYY-MM-DD`);
      out[name] = { from, to };
    } else {
      const v = str(name) ?? spec.default ?? (spec.kind === 'text' ? '' : '');
      if (v.length > MAX_TEXT) throw new TributaryError('TRIB_E_PARSE', `input ${name}: at most ${MAX_TEXT} characters`);
      out[name] = spec.kind === 'dropdown' && v === '' ? null : v;
    }
  }
  return out;
}

/** The parameter values of a bound query. */
function paramValues(report: Report, q: ReportQuery, values: InputValues): { text: string; values: (string | null)[] } {
  const kinds = Object.fromEntries(Object.entries(report.inputs).map(([k, v]) => [k, v.kind]));
  const bound = bindSql(q.sql, kinds);
  return {
    text: bound.text,
    values: bound.params.map((p) => {
      const v = values[p.input];
      if (v !== null && typeof v === 'object') return p.part === 'to' ? v.to : v.from;
      return v ?? null;
    }),
  };
}

/** Turns a PostgreSQL error into TRIB_E_REPORT_QUERY naming the query and the line in the file. */
export function queryError(
  err: unknown,
  report: Report,
  q: ReportQuery,
  sent: string,
  prefixLength: number,
  limits: QueryLimits,
): TributaryError {
  const e = err as { message?: string; position?: string; code?: string };
  const state = sqlState(err);
  if (!state) return new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', `query ${q.name}: ${e.message ?? String(err)}`, { cause: err });
  const pos = Number(e.position ?? 0);
  const line = q.line + (pos > prefixLength ? (sent.slice(prefixLength, pos - 1).match(/\n/g)?.length ?? 0) : 0);
  const message = state === '57014' ? `cancelled after the statement timeout (${limits.statementTimeoutMs} ms)` : (e.message ?? 'failed');
  return new TributaryError('TRIB_E_REPORT_QUERY', `query ${q.name} (${path.basename(report.file)}:${line}): ${message}`, {
    cause: err,
    location: { file: report.file, line },
    details: { query: q.name, sqlstate: state },
  });
}

/** Runs `fn` in a read-only transaction as the reader role, rolled back whatever happens. */
export async function readOnly<T>(pool: Pool, limits: QueryLimits, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  // Guarded: PostgreSQL going away between two queries of a checked-out client is an 'error'
  // event, which would otherwise end the monitor (the query that next uses it reports it).
  const client = guardClient(await pool.connect());
  let broken = false;
  try {
    await client.query('BEGIN TRANSACTION READ ONLY');
    await client.query(
      `SET LOCAL ROLE ${ident(limits.role ?? DATABASE_ROLES.reader)}; SET LOCAL statement_timeout = ${Math.max(1, Math.floor(limits.statementTimeoutMs))}; ` +
        `SET LOCAL search_path TO ${ident(WAREHOUSE_SCHEMA)}; SET LOCAL TimeZone TO 'UTC'` +
        (limits.serial ? '; SET LOCAL max_parallel_workers_per_gather = 0' : ''),
    );
    return await fn(client);
  } catch (err) {
    broken = !sqlState(err);
    throw err;
  } finally {
    await client.query('ROLLBACK').catch(() => (broken = true));
    client.release(broken);
  }
}

/** Runs one query of a report with the given input values. */
export async function runQuery(
  pool: Pool,
  report: Report,
  queryName: string,
  values: InputValues,
  limits: QueryLimits,
): Promise<QueryResult> {
  const q = report.queries[queryName];
  if (!q) throw new TributaryError('TRIB_E_REPORT', `report ${report.name} has no query "${queryName}"`);
  const bound = paramValues(report, q, values);
  const started = performance.now();
  const prefix = 'DECLARE report_rows NO SCROLL CURSOR FOR\n';
  try {
    return await readOnly(pool, limits, async (client) => {
      await client.query({ text: prefix + bound.text, values: bound.values, queryMode: 'extended' } as QueryConfig);
      const r = await client.query({ text: `FETCH FORWARD ${limits.maxRows + 1} FROM report_rows`, rowMode: 'array', types: RAW });
      const truncated = r.rows.length > limits.maxRows;
      const rows = (truncated ? r.rows.slice(0, limits.maxRows) : r.rows) as (string | null)[][];
      return {
        columns: r.fields.map((f) => ({ name: f.name, type: COLUMN_TYPES[f.dataTypeID] ?? 'text' })),
        rows: rows.map((row) => row.map((v, i) => (v === null ? null : parseValue(r.fields[i]!.dataTypeID, v)))),
        truncated,
        ms: Math.round(performance.now() - started),
      };
    });
  } catch (err) {
    throw queryError(err, report, q, prefix + bound.text, prefix.length, limits);
  }
}

/** The columns a query returns, without running it (LIMIT 0), or its error: for validation. */
export async function describeQuery(pool: Pool, report: Report, q: ReportQuery, limits: QueryLimits): Promise<string[]> {
  const values: InputValues = Object.fromEntries(
    Object.entries(report.inputs).map(([k, v]) => [k, v.kind === 'date_range' ? { from: '2000-01-01', to: '2000-01-01' } : null]),
  );
  const bound = paramValues(report, q, values);
  const prefix = 'SELECT * FROM (\n';
  const text = `${prefix}${bound.text}\n) AS report_query LIMIT 0`;
  try {
    return await readOnly(pool, limits, async (c) => {
      const r = await c.query({ text, values: bound.values, queryMode: 'extended' } as QueryConfig);
      return r.fields.map((f) => f.name);
    });
  } catch (err) {
    throw queryError(err, report, q, text, prefix.length, limits);
  }
}

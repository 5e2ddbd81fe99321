/**
 * SQL of `postgres_poll`: the table's columns and key, the safety bound, and keyset pages on
 * (cursor column, key) so that a page boundary never splits or repeats rows with equal
 * cursor values.
 */
import { TributaryError } from '@tributary/contract/errors';
import type { Client } from 'pg';
import { quoteIdent, splitTable } from './pg-connection';

/** A row position: the cursor column and key columns as PostgreSQL text, exact for re-parsing. */
export interface RowPos {
  c: string;
  k: string[];
}

/** What the poller needs to know about the table. */
export interface PollTable {
  sql: string;
  name: string;
  cursor: { name: string; type: string };
  key: { name: string; type: string }[];
  columns: string[] | undefined;
}

/** Reads column types and (when `key` is unset) the primary key; checks the cursor column is a time. */
export async function describeTable(
  client: Client,
  o: { table: string; cursorColumn: string; key?: string[]; columns?: string[] },
): Promise<PollTable> {
  const t = splitTable(o.table);
  const cols = await client.query<{ name: string; type: string; pk: boolean }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            COALESCE(a.attnum = ANY(i.indkey), false) AS pk
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [t.schema, t.table],
  );
  if (cols.rows.length === 0) throw new TributaryError('TRIB_E_CONFIG', `postgres_poll: table ${t.name} not found`);
  const byName = new Map(cols.rows.map((r) => [r.name, r]));
  const cursor = byName.get(o.cursorColumn);
  if (!cursor) throw new TributaryError('TRIB_E_CONFIG', `postgres_poll: ${t.name} has no column ${o.cursorColumn}`);
  if (!/^timestamp/.test(cursor.type)) {
    // The safety bound is a time; a counter column would need a different in-flight rule.
    throw new TributaryError('TRIB_E_CONFIG', `postgres_poll: cursor column ${o.cursorColumn} is ${cursor.type}, not a timestamp`);
  }
  const keyNames = o.key ?? cols.rows.filter((r) => r.pk).map((r) => r.name);
  if (keyNames.length === 0) throw new TributaryError('TRIB_E_CONFIG', `postgres_poll: ${t.name} has no primary key; set \`key\``);
  const key = keyNames.map((k) => {
    const c = byName.get(k);
    if (!c) throw new TributaryError('TRIB_E_CONFIG', `postgres_poll: ${t.name} has no key column ${k}`);
    return { name: k, type: c.type };
  });
  for (const c of o.columns ?? [])
    if (!byName.has(c)) throw new TributaryError('TRIB_E_CONFIG', `postgres_poll: ${t.name} has no column ${c}`);
  return { sql: t.sql, name: t.name, cursor: { name: cursor.name, type: cursor.type }, key, columns: o.columns };
}

/**
 * The newest cursor value this run may read up to (exclusive), as text.
 *
 * A row becomes visible when its transaction commits, but carries the time it was written
 * (`now()` is even the transaction's start). A poll that read up to "now" could pass rows whose
 * transaction commits a moment later with an older cursor value, and never see them. So a run
 * reads only rows older than (a) now minus `safety_lag` (clock skew, writers that set the time
 * themselves) and (b) the start of the oldest transaction still open in the database: every row
 * not visible yet belongs to an open transaction and so has a cursor value at or after (b).
 */
export async function safetyBound(client: Client, t: PollTable, lagMs: number, waitForOpen: boolean): Promise<string> {
  const r = await client.query<{ bound: string }>(
    `SELECT LEAST(now() - make_interval(secs => $1::double precision / 1000),
                  CASE WHEN $2 THEN (SELECT min(xact_start) FROM pg_stat_activity
                                      WHERE datname = current_database() AND pid <> pg_backend_pid()
                                        AND xact_start IS NOT NULL AND backend_type = 'client backend') END
           )::${t.cursor.type}::text AS bound`,
    [lagMs, waitForOpen],
  );
  return r.rows[0]!.bound;
}

/** One keyset page: rows after `after` (all when undefined), below `bound` or up to `upTo` inclusive. */
export async function readPage(
  client: Client,
  t: PollTable,
  o: { after?: RowPos; bound?: string; upTo?: RowPos; limit?: number },
): Promise<{ rows: Record<string, unknown>[]; positions: RowPos[] }> {
  const c = quoteIdent(t.cursor.name);
  const tuple = `(${[c, ...t.key.map((k) => quoteIdent(k.name))].join(', ')})`;
  const params: unknown[] = [];
  const typed = (pos: RowPos): string => {
    const casts = [t.cursor.type, ...t.key.map((k) => k.type)];
    return `(${[pos.c, ...pos.k].map((v, i) => (params.push(v), `$${params.length}::${casts[i]}`)).join(', ')})`;
  };
  const where: string[] = [];
  if (o.after) where.push(`${tuple} > ${typed(o.after)}`);
  if (o.upTo) where.push(`${tuple} <= ${typed(o.upTo)}`);
  if (o.bound !== undefined) {
    params.push(o.bound);
    where.push(`${c} < $${params.length}::${t.cursor.type}`);
  }
  const select = t.columns ? t.columns.map(quoteIdent).join(', ') : '*';
  const extra = [`${c}::text AS "__trib_c"`, ...t.key.map((k, i) => `${quoteIdent(k.name)}::text AS "__trib_k${i}"`)].join(', ');
  const sql =
    `SELECT ${select}, ${extra} FROM ${t.sql}` +
    (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY ${[c, ...t.key.map((k) => quoteIdent(k.name))].join(', ')}` +
    (o.limit ? ` LIMIT ${o.limit}` : '');
  const r = await client.query<Record<string, unknown>>(sql, params);
  const positions: RowPos[] = [];
  const rows = r.rows.map((row) => {
    positions.push({ c: row.__trib_c as string, k: t.key.map((_, i) => row[`__trib_k${i}`] as string) });
    delete row.__trib_c;
    t.key.forEach((_, i) => delete row[`__trib_k${i}`]);
    return row;
  });
  return { rows, positions };
}

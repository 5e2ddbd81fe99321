/**
 * The primary key of a captured table, as the snapshot reads it in key order and as a snapshot's
 * cut-off compares keys: column names, types and collations from the catalog, and a key's values
 * as text (from a record's JSON values) so PostgreSQL can compare them with its own ordering.
 */
import type { Client } from 'pg';
import { quoteIdent, splitTable } from './pg-connection';

/** One primary-key column. */
export interface KeyColumn {
  name: string;
  /** Type OID (pg_type.oid). */
  oid: number;
  /** SQL type (`format_type`), for casts of a key's text values. */
  type: string;
  /** Qualified collation of a collatable column (`"pg_catalog"."default"`), so comparisons order as the index does. */
  collation?: string;
}

/**
 * Key types whose record value (as `pg-values.ts` and `snapshot-json.ts` render it) reads back as
 * the same value when cast from its text: integers, numeric, boolean, text types, uuid, dates,
 * times and timestamps. A table keyed on anything else is read whole, in no particular order.
 */
const ROUND_TRIP_OIDS = new Set([16, 20, 21, 23, 26, 1700, 25, 1043, 1042, 19, 2950, 1082, 1083, 1114, 1184]);

/** Integer types: compared in JS (no round trip to the server). */
const INTEGER_OIDS = new Set([20, 21, 23, 26]);

/** The metadata keys a snapshot record carries: a key column of one of these names is not in the record. */
const META = new Set(['_table', '_op', '_lsn', '_seq', '_commit_at']);

/**
 * The primary key of `table` (`schema.table`), or undefined when it has none or a column whose
 * record value does not round-trip (then the table is read whole and a resume re-reads it whole).
 */
export async function tableKey(client: Client, table: string): Promise<KeyColumn[] | undefined> {
  const t = splitTable(table);
  const r = await client.query<{ name: string; oid: number; type: string; collation: string | null }>(
    `SELECT a.attname AS name, a.atttypid::int AS oid, format_type(a.atttypid, a.atttypmod) AS type,
            CASE WHEN a.attcollation <> 0 THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END AS collation
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
       LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
      WHERE i.indrelid = $1::regclass AND i.indisprimary
      ORDER BY k.ord`,
    [t.sql],
  );
  if (r.rows.length === 0) return undefined;
  if (r.rows.some((c) => !ROUND_TRIP_OIDS.has(c.oid) || META.has(c.name))) return undefined;
  return r.rows.map((c) => ({ name: c.name, oid: c.oid, type: c.type, ...(c.collation ? { collation: c.collation } : {}) }));
}

/**
 * A record's key as text values (in key order), or undefined when a key column is missing or not
 * a scalar (a delete without its key, a record shaped by a schema).
 */
export function keyOf(record: Record<string, unknown>, key: readonly KeyColumn[]): string[] | undefined {
  const out: string[] = [];
  for (const c of key) {
    const v = record[c.name];
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') out.push(String(v));
    else return undefined;
  }
  return out;
}

const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** `ROW(...)` of `values` cast to the key's types and collations: compares as the primary key index orders. */
export function keyRow(key: readonly KeyColumn[], values: readonly string[]): string {
  return `ROW(${key.map((c, i) => `${literal(values[i]!)}::${c.type}${c.collation ? ` COLLATE ${c.collation}` : ''}`).join(', ')})`;
}

/** `ROW(alias.col, ...)` of the key columns of a table aliased `alias`. */
export function keyColumns(key: readonly KeyColumn[], alias: string): string {
  return `ROW(${key.map((c) => `${alias}.${quoteIdent(c.name)}`).join(', ')})`;
}

/** `alias.col, ...`: the key columns for ORDER BY (the primary key index's order). */
export function keyOrder(key: readonly KeyColumn[], alias: string): string {
  return key.map((c) => `${alias}.${quoteIdent(c.name)}`).join(', ');
}

/**
 * Whether key `a` sorts after key `b`: in JS for integer keys, else asked of PostgreSQL with
 * `query` (text and other collatable types order by their collation, which only the server knows).
 */
export async function keyAfter(
  key: readonly KeyColumn[],
  a: readonly string[],
  b: readonly string[],
  query: (sql: string) => Promise<boolean>,
): Promise<boolean> {
  if (key.every((c) => INTEGER_OIDS.has(c.oid))) {
    for (let i = 0; i < key.length; i++) {
      const x = BigInt(a[i]!);
      const y = BigInt(b[i]!);
      if (x !== y) return x > y;
    }
    return false;
  }
  return query(`SELECT ${keyRow(key, a)} > ${keyRow(key, b)} AS after`);
}

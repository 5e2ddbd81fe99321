/**
 * The SQL that makes PostgreSQL write a snapshot table's records as JSON text, each value exactly
 * as `pg-values.ts` renders it for the cursor read (a number where the double is exact, the text
 * otherwise; RFC 3339 timestamps; dates and times as text), followed by the metadata `snapshotRecords`
 * sets (`_table`, `_op`, `_lsn`, `_seq`, `_commit_at`). Only the types below are rendered here; a
 * table with a column of any other type (json, arrays, intervals, bytea, ...) gets `undefined` and
 * is read through the cursor, so nothing differs between the two reads.
 */
import type { Client } from 'pg';
import { quoteIdent } from './pg-connection';

/** `c` (of type modifier `typmod`) as a SQL expression whose row_to_json value is the record value, by type OID. */
const RENDER: Record<number, (c: string, typmod: number) => string> = {
  // bool, int2, int4, float4, float8: row_to_json writes the type's text output (NaN and the
  // infinities quoted), the same text the cursor read turns into a number or keeps as text.
  16: (c) => c,
  21: (c) => c,
  23: (c) => c,
  700: (c) => c,
  701: (c) => c,
  // oid: a number (row_to_json would quote it).
  26: (c) => `${c}::int8`,
  // int8: a number within +-(2^53 - 1), the text beyond.
  20: (c) => `CASE WHEN ${c} BETWEEN -9007199254740991 AND 9007199254740991 THEN to_json(${c}) ELSE to_json(${c}::text) END`,
  // numeric: a number where the double holds exactly the value (its shortest text reads back equal:
  // extra_float_digits=3 makes float8 text the shortest exact one), the text otherwise (NaN,
  // infinities, more digits than a double keeps, beyond the double's normal range).
  // A declared precision of at most 15 digits always fits (NaN is quoted either way): as it is.
  1700: (c, typmod) =>
    typmod >= 4 && (typmod - 4) >> 16 <= 15
      ? c
      : `CASE WHEN NOT (abs(${c}) < 1e308 AND (abs(${c}) > 1e-307 OR ${c} = 0)) THEN to_json(${c}::text) ` +
        `WHEN ${c}::float8::text::numeric = ${c} THEN to_json(${c}) ELSE to_json(${c}::text) END`,
  // text, varchar, bpchar (padded, as its output), name, uuid: strings.
  25: (c) => c,
  1043: (c) => c,
  1042: (c) => c,
  19: (c) => c,
  2950: (c) => c,
  // date, time: the ISO text (DateStyle=ISO).
  1082: (c) => `${c}::text`,
  1083: (c) => `${c}::text`,
  // timestamp: `2024-01-02T03:04:05.123456` (isoTimestamp); BC and -infinity stay as their text.
  1114: (c) => `CASE WHEN ${c} >= '0001-01-01'::timestamp THEN replace(${c}::text, ' ', 'T') ELSE ${c}::text END`,
  // timestamptz in the session's UTC (text `... +00`): `2024-01-02T03:04:05.123456Z`.
  1184: (c) =>
    `CASE WHEN ${c} >= '0001-01-01 00:00:00+00'::timestamptz AND ${c} < 'infinity'::timestamptz ` +
    `THEN replace(left(${c}::text, -3), ' ', 'T') || 'Z' ELSE ${c}::text END`,
};

/** The metadata keys the snapshot sets on every record (a column of the same name is replaced). */
const META = new Set(['_table', '_op', '_lsn', '_seq', '_commit_at']);

const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Which rows of a table one query reads: after a key, in key order, at most `limit`; `offset` numbers them (`_seq`). */
export interface JsonRange {
  /** SQL condition on the table aliased `s` (e.g. `ROW(s.id) > ROW('7'::integer)`). */
  where?: string;
  /** ORDER BY list on `s` (the primary key). */
  order?: string;
  limit?: number;
  /** `_seq` of the first row read. */
  offset: number;
}

/**
 * The SELECT that yields one JSON text per row of `t` (a range of them: see `JsonRange`), or
 * `undefined` when a column's type is not rendered here. Runs `SELECT * ... LIMIT 0` (in the
 * caller's transaction) for the column types.
 */
export async function snapshotJsonQuery(
  client: Client,
  t: { sql: string; name: string },
  meta: { lsn: string; at: string },
): Promise<((range: JsonRange) => string) | undefined> {
  const { fields } = await client.query(`SELECT * FROM ${t.sql} LIMIT 0`);
  const columns: string[] = [];
  for (const f of fields) {
    if (META.has(f.name)) continue;
    const render = RENDER[f.dataTypeID];
    if (!render) return undefined;
    const c = quoteIdent(f.name);
    columns.push(`${render(`s.${c}`, f.dataTypeModifier)} AS ${c}`);
  }
  // The metadata is the same text on every row but `_seq`: written once here as JSON and appended
  // to each row's object (escaping four constants per row was a third of PostgreSQL's time).
  const head = `,"_table":${JSON.stringify(t.name)},"_op":"read","_lsn":${JSON.stringify(meta.lsn)},"_seq":`;
  const tail = `,"_commit_at":${JSON.stringify(meta.at)}}`;
  return (range) => {
    // row_number() over the subquery's rows numbers them in its (key) order.
    const seq = range.offset === 0 ? 'row_number() OVER () - 1' : `row_number() OVER () + ${range.offset - 1}`;
    const from =
      `${t.sql} s` +
      (range.where ? ` WHERE ${range.where}` : '') +
      (range.order ? ` ORDER BY ${range.order}` : '') +
      (range.limit !== undefined ? ` LIMIT ${range.limit}` : '');
    if (columns.length === 0) return `SELECT ${literal(`{${head.slice(1)}`)} || (${seq}) || ${literal(tail)} FROM (SELECT FROM ${from}) r`;
    return (
      `SELECT left(row_to_json(r)::text, -1) || ${literal(head)} || (${seq}) || ${literal(tail)} ` +
      `FROM (SELECT ${columns.join(', ')} FROM ${from}) r`
    );
  };
}

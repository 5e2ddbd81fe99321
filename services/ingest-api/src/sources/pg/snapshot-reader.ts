/**
 * Reads tables inside an exported snapshot (the slot's, or a catch-up snapshot's), in chunks, so a
 * large table never sits in memory whole, and in primary-key order, so a read cut short can go on
 * from its last key. A table whose columns are all of the types `snapshot-json.ts` renders
 * in SQL is read with `COPY (SELECT row_to_json(...)) TO STDOUT`: PostgreSQL writes each record's
 * JSON text, metadata included, and it travels as it is (no object per row here). Any other table
 * is read through a server-side cursor, a row object at a time, as before.
 */
import type { Client } from 'pg';
import * as copyStreams from 'pg-copy-streams';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { splitTable } from './pg-connection';
import { isoTimestamp } from './pg-values';
import { snapshotJsonQuery, type JsonRange } from './snapshot-json';
import { keyColumns, keyOf, keyOrder, keyRow, type KeyColumn } from './table-key';

const copyTo = (copyStreams as unknown as { to: (sql: string) => Readable & { submit(): void } }).to;

/** One chunk of one table: row objects (cursor read) or each record's JSON text (COPY read). */
export interface SnapshotChunk {
  table: string;
  /** Chunk index within the table, from 0 (a resumed table goes on from its last published chunk). */
  chunk: number;
  /** Index of the chunk's first row within the table (its `_seq`). */
  offset: number;
  /** The rows, without metadata (cursor read). */
  rows?: Record<string, unknown>[];
  /** Each record's JSON text, metadata included (COPY read). */
  lines?: string[];
  /** When the snapshot's transaction started (the records' `_commit_at`). */
  at: string;
  /** The primary key (text values) of the chunk's last row, when the table is read in key order. */
  lastKey?: string[];
}

/** A table to read, and from where. */
export interface SnapshotTable {
  /** `schema.table` (unqualified: public). */
  name: string;
  /** Its primary key (`tableKey`): read in key order, in ranges. Absent: read whole, in no order. */
  key?: KeyColumn[];
  /** Read only the rows whose key sorts after this one (a resumed table). */
  after?: string[];
  /** Index of the first chunk (default 0). */
  chunk?: number;
  /** `_seq` of the first row (default 0). */
  offset?: number;
}

/** Options of `readSnapshot`. */
export interface ReadSnapshotOptions {
  /** The records' `_lsn` (formatted), written by PostgreSQL into the COPY read's records. */
  lsn: string;
  /** `false`: every table through the cursor (the reference path; tests compare the two). */
  copy?: boolean;
}

/**
 * Rows per query of a table read in key order: many chunks per statement, so a statement's
 * planning and start-up are spread over enough rows not to show; a multiple of the chunk size,
 * so chunks are cut at the same rows whatever the query size.
 */
const rowsPerQuery = (chunkRows: number): number => chunkRows * Math.max(1, Math.ceil(50_000 / chunkRows));

/**
 * Yields every row of `tables` as of `snapshotName`, `chunkRows` at a time. The transaction is
 * REPEATABLE READ with the imported snapshot, so all tables are read at the same instant: the
 * snapshot's LSN. A table with a usable primary key is read in key order, a range of keys per
 * statement (`WHERE key > last ORDER BY key LIMIT n`), so a read cut anywhere can go on after the
 * last key published, in another snapshot. Chunks are cut at the same rows either way (COPY or
 * cursor), so message IDs do not depend on the read.
 */
export async function* readSnapshot(
  client: Client,
  snapshotName: string,
  tables: readonly SnapshotTable[],
  chunkRows: number,
  opts: ReadSnapshotOptions,
): AsyncGenerator<SnapshotChunk> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
    const at = isoTimestamp((await client.query<{ now: string }>('SELECT now()::text AS now')).rows[0]!.now);
    for (const table of tables) {
      const t = splitTable(table.name);
      const json = opts.copy === false ? undefined : await snapshotJsonQuery(client, t, { lsn: opts.lsn, at });
      const start = { chunk: table.chunk ?? 0, offset: table.offset ?? 0 };
      if (table.key && table.key.length > 0) yield* keyedChunks(client, t, table.key, table.after, json, chunkRows, at, start);
      else if (json) yield* copyChunks(client, json({ offset: start.offset }), t.name, chunkRows, at, start);
      else yield* cursorChunks(client, t, chunkRows, at, start);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** One table in key order, `rowsPerQuery` rows per statement (COPY when `json` is given, else row objects). */
async function* keyedChunks(
  client: Client,
  t: { sql: string; name: string },
  key: KeyColumn[],
  after: string[] | undefined,
  json: ((range: JsonRange) => string) | undefined,
  chunkRows: number,
  at: string,
  start: { chunk: number; offset: number },
): AsyncGenerator<SnapshotChunk> {
  const limit = rowsPerQuery(chunkRows);
  const order = keyOrder(key, 's');
  let last = after;
  let { chunk, offset } = start;
  for (;;) {
    const where = last ? `${keyColumns(key, 's')} > ${keyRow(key, last)}` : undefined;
    let read = 0;
    if (json) {
      for await (const c of copyChunks(client, json({ where, order, limit, offset }), t.name, chunkRows, at, { chunk, offset })) {
        // The last row's key, from its JSON: the values read back as the same key (`tableKey`).
        c.lastKey = keyOf(JSON.parse(c.lines![c.lines!.length - 1]!) as Record<string, unknown>, key);
        if (!c.lastKey)
          throw new Error(`snapshot of ${t.name}: the primary key of row ${c.offset + c.lines!.length - 1} is not in its record`);
        last = c.lastKey;
        read += c.lines!.length;
        chunk = c.chunk + 1;
        offset = c.offset + c.lines!.length;
        yield c;
      }
    } else {
      for (let left = limit; left > 0;) {
        const r = await client.query<Record<string, unknown>>(
          `SELECT * FROM ${t.sql} s${last ? ` WHERE ${keyColumns(key, 's')} > ${keyRow(key, last)}` : ''} ORDER BY ${order} LIMIT ${Math.min(chunkRows, left)}`,
        );
        if (r.rows.length === 0) break;
        const lastKey = keyOf(r.rows[r.rows.length - 1]!, key);
        if (!lastKey) throw new Error(`snapshot of ${t.name}: the primary key of row ${offset + r.rows.length - 1} is not in its record`);
        yield { table: t.name, chunk: chunk++, offset, rows: r.rows, at, lastKey };
        last = lastKey;
        offset += r.rows.length;
        read += r.rows.length;
        left -= r.rows.length;
        if (r.rows.length < chunkRows) break;
      }
    }
    if (read < limit) return;
  }
}

/** One table through a server-side cursor: a row object per row. */
async function* cursorChunks(
  client: Client,
  t: { sql: string; name: string },
  chunkRows: number,
  at: string,
  start: { chunk: number; offset: number },
): AsyncGenerator<SnapshotChunk> {
  await client.query(`DECLARE trib_snapshot NO SCROLL CURSOR FOR SELECT * FROM ${t.sql}`);
  for (let chunk = start.chunk, offset = start.offset; ; chunk++) {
    const r = await client.query<Record<string, unknown>>(`FETCH FORWARD ${chunkRows} FROM trib_snapshot`);
    if (r.rows.length === 0) break;
    yield { table: t.name, chunk, offset, rows: r.rows, at };
    offset += r.rows.length;
    if (r.rows.length < chunkRows) break;
  }
  await client.query('CLOSE trib_snapshot');
}

/**
 * One table through `COPY (sql) TO STDOUT`: each line is one record's JSON text. COPY's text format
 * escapes only backslashes in it (PostgreSQL's JSON has no raw control characters), so a line
 * with a backslash has its doubled backslashes undone.
 */
async function* copyChunks(
  client: Client,
  sql: string,
  table: string,
  chunkRows: number,
  at: string,
  start: { chunk: number; offset: number },
): AsyncGenerator<SnapshotChunk> {
  const stream = client.query(copyTo(`COPY (${sql}) TO STDOUT`));
  const decoder = new StringDecoder('utf8');
  let tail = '';
  let lines: string[] = [];
  let { chunk, offset } = start;
  for await (const buf of stream as AsyncIterable<Buffer>) {
    const text = tail + decoder.write(buf);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = text.slice(start, nl);
      lines.push(line.includes('\\') ? line.replaceAll('\\\\', '\\') : line);
      start = nl + 1;
      if (lines.length === chunkRows) {
        // Paused while the consumer publishes: the stream's buffer holds the server back.
        yield { table, chunk: chunk++, offset, lines, at };
        offset += lines.length;
        lines = [];
      }
    }
    tail = text.slice(start);
  }
  tail += decoder.end();
  if (tail.length > 0) throw new Error(`snapshot of ${table}: COPY output ended inside a row`);
  if (lines.length > 0) yield { table, chunk, offset, lines, at };
}

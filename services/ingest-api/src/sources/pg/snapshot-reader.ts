/**
 * Reads tables inside a snapshot exported by CREATE_REPLICATION_SLOT, in chunks, so a large table
 * never sits in memory whole. A table whose columns are all of the types `snapshot-json.ts` renders
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
import { snapshotJsonQuery } from './snapshot-json';

const copyTo = (copyStreams as unknown as { to: (sql: string) => Readable & { submit(): void } }).to;

/** One chunk of one table: row objects (cursor read) or each record's JSON text (COPY read). */
export interface SnapshotChunk {
  table: string;
  /** Chunk index within the table, from 0. */
  chunk: number;
  /** Index of the chunk's first row within the table. */
  offset: number;
  /** The rows, without metadata (cursor read). */
  rows?: Record<string, unknown>[];
  /** Each record's JSON text, metadata included (COPY read). */
  lines?: string[];
  /** When the snapshot's transaction started (the records' `_commit_at`). */
  at: string;
}

/** Options of `readSnapshot`. */
export interface ReadSnapshotOptions {
  /** The records' `_lsn` (formatted), written by PostgreSQL into the COPY read's records. */
  lsn: string;
  /** `false`: every table through the cursor (the reference path; tests compare the two). */
  copy?: boolean;
}

/**
 * Yields every row of `tables` as of `snapshotName`, `chunkRows` at a time. The transaction is
 * REPEATABLE READ with the imported snapshot, so all tables are read at the same instant: the slot's
 * consistent point. Chunks are cut at the same rows either way, so message IDs do not depend on
 * the read.
 */
export async function* readSnapshot(
  client: Client,
  snapshotName: string,
  tables: string[],
  chunkRows: number,
  opts: ReadSnapshotOptions,
): AsyncGenerator<SnapshotChunk> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
    const at = isoTimestamp((await client.query<{ now: string }>('SELECT now()::text AS now')).rows[0]!.now);
    for (const t of tables.map(splitTable)) {
      const sql = opts.copy === false ? undefined : await snapshotJsonQuery(client, t, { lsn: opts.lsn, at });
      if (sql) yield* copyChunks(client, sql, t.name, chunkRows, at);
      else yield* cursorChunks(client, t, chunkRows, at);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** One table through a server-side cursor: a row object per row. */
async function* cursorChunks(
  client: Client,
  t: { sql: string; name: string },
  chunkRows: number,
  at: string,
): AsyncGenerator<SnapshotChunk> {
  await client.query(`DECLARE trib_snapshot NO SCROLL CURSOR FOR SELECT * FROM ${t.sql}`);
  for (let chunk = 0, offset = 0; ; chunk++) {
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
async function* copyChunks(client: Client, sql: string, table: string, chunkRows: number, at: string): AsyncGenerator<SnapshotChunk> {
  const stream = client.query(copyTo(`COPY (${sql}) TO STDOUT`));
  const decoder = new StringDecoder('utf8');
  let tail = '';
  let lines: string[] = [];
  let chunk = 0;
  let offset = 0;
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

/**
 * Reads tables inside a snapshot exported by CREATE_REPLICATION_SLOT, in chunks through a
 * server-side cursor, so a large table never sits in memory whole.
 */
import type { Client } from 'pg';
import { splitTable } from './pg-connection';
import { isoTimestamp } from './pg-values';

/** One chunk of one table. */
export interface SnapshotChunk {
  table: string;
  /** Chunk index within the table, from 0. */
  chunk: number;
  /** Index of the chunk's first row within the table. */
  offset: number;
  rows: Record<string, unknown>[];
  /** When the snapshot's transaction started (the records' `_commit_at`). */
  at: string;
}

/**
 * Yields every row of `tables` as of `snapshotName`, `chunkRows` at a time. The transaction is
 * REPEATABLE READ with the imported snapshot, so all tables are read at the same instant: the slot's
 * consistent point.
 */
export async function* readSnapshot(
  client: Client,
  snapshotName: string,
  tables: string[],
  chunkRows: number,
): AsyncGenerator<SnapshotChunk> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
    const at = isoTimestamp((await client.query<{ now: string }>('SELECT now()::text AS now')).rows[0]!.now);
    for (const t of tables.map(splitTable)) {
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
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

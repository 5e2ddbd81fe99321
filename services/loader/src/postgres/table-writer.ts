/**
 * Writes one table's share of a flush: COPY into a per-connection staging table, the partitions
 * its rows need (partitioned tables), then the load mode's merge statement, all inside the
 * caller's transaction. Plain appends and upserts first try one COPY straight into the table
 * (`writeDirect`), which halves PostgreSQL's work per row when nothing in the flush conflicts (a
 * stream of new rows, a CDC snapshot).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline as pump } from 'node:stream/promises';
import { datasetOf, inferFieldType, pgColumnType, lookupColumns, type Dataset, type Pipeline, type Table } from '@tributary/contract/spec';
import { isDataError } from '@tributary/warehouse/pg-error-kind';
import { ident, warehouseTable } from '@tributary/warehouse/sql';
import { partitionLayout } from '@tributary/warehouse/partitions';
import type { Logger } from '@tributary/runtime/logger';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyValue } from './copy-text';
import { lookupStatements } from './dimension-lookups';
import { createMode } from '../modes/registry';
import type { LoadModeImpl } from '../modes/mode';
import { PartitionRouter } from './partition-router';
import { addCounts, type RowCounts, type TableRows } from '../sink';

/** A column `on_drift: evolve` added to the table: not a declared field, loaded like one. */
export interface EvolvedColumn {
  name: string;
  /** Its type in the table (`format_type`), which the staging table copies. */
  pgType: string;
}

/** Flushes of a table that take the staging path after its direct COPY failed. */
const DIRECT_PAUSE_FLUSHES = 32;

/** COPY text per CopyData message, in characters (a chunk of 64 KiB cost no more CPU than one of the whole flush). */
const COPY_CHUNK = 64 * 1024;

/** What `pg_lsn` accepts (PostgreSQL's pg_lsn_in: 1-8 hex digits, a slash, 1-8 hex digits). */
const PG_LSN = /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/;

/** Loads rows into one warehouse table. */
export class TableWriter {
  readonly dataset: Dataset;
  private readonly staging: string;
  private readonly stagingDdl: string;
  private readonly mode: LoadModeImpl;
  private readonly copySql: string;
  /** Statements filling lookup columns, run after the COPY and before the mode's own. */
  private readonly lookupSql: string[];
  /** Dimension tables this table looks up (the batch loader writes them first). */
  readonly dimensions: string[];
  /** Connections that already have this staging table (temp tables live per session). */
  private readonly prepared = new WeakSet<PoolClient>();
  /** Partitioned tables: creates the partitions of staged rows before the merge. */
  private readonly partitions: PartitionRouter | undefined;
  /** The direct path (see `writeDirect`), for the tables that may take it; else undefined. */
  private readonly direct: { sql: string; pausedFlushes: number; lsnField?: string } | undefined;
  /** Flushes whose direct COPY failed and went the staging path (tests read it). */
  directFallbacks = 0;

  constructor(
    readonly pipeline: Pipeline,
    readonly table: Table,
    logger?: Logger,
    /** Columns `evolve` added (postgres/evolved-columns.ts), staged and written after the declared fields. */
    readonly evolved: readonly EvolvedColumn[] = [],
  ) {
    this.dataset = datasetOf(pipeline, table);
    const lookups = lookupColumns(pipeline, table);
    this.dimensions = lookups.map((l) => l.dimension.name);
    const cols = [
      ...this.dataset.fields.map((f) => `${ident(f.name)} ${pgColumnType(f)}`),
      ...evolved.map((e) => `${ident(e.name)} ${e.pgType}`),
    ];
    const extra = lookups.map((l) => `${ident(l.column)} bigint`);
    // The name carries a hash of the columns so a spec change gets a fresh staging table.
    const hash = createHash('sha256')
      .update([...cols, ...extra].join(','))
      .digest('hex')
      .slice(0, 8);
    const base = `stg_${table.name.slice(0, 40)}_${hash}`;
    this.staging = ident(base);
    this.stagingDdl = `CREATE TEMP TABLE IF NOT EXISTS ${this.staging} (${[...cols, ...extra, '"_msg_id" text', '"_ingested_at" timestamptz', '"_source_time" timestamptz', '"_ord" integer'].join(', ')}) ON COMMIT DELETE ROWS`;
    const declared = [...this.dataset.fields.map((f) => ident(f.name)), ...evolved.map((e) => ident(e.name))];
    const names = [...declared, '"_msg_id"', '"_ingested_at"', '"_source_time"', '"_ord"'];
    this.copySql = `COPY ${this.staging} (${names.join(', ')}) FROM STDIN`;
    this.lookupSql = lookupStatements(pipeline, this.staging, lookups);
    const layout = partitionLayout(pipeline, table);
    this.partitions = layout && new PartitionRouter(table, layout, this.staging, logger);
    // Plain appends and upserts (no lookups to fill, no partitions to create) may COPY straight
    // into the target: when no key of the flush repeats or is stored, the staging path's merge
    // inserts every row as it is, which is what the COPY does.
    if ((table.mode === 'append' || table.mode === 'upsert') && lookups.length === 0 && !layout) {
      const direct = [...declared, '"_msg_id"', '"_ingested_at"', '"_source_time"'];
      // An upsert's text position is compared as pg_lsn, which the merge casts (refusing a
      // malformed one) and a COPY into a text column would not: such a flush takes the merge.
      const position = table.mode === 'upsert' ? this.dataset.fields.find((f) => f.name === table.position) : undefined;
      this.direct = {
        sql: `COPY ${warehouseTable(table.name)} (${direct.join(', ')}) FROM STDIN`,
        pausedFlushes: 0,
        ...(position?.type === 'string' ? { lsnField: position.name } : {}),
      };
    }
    this.mode = createMode(table, {
      dataset: this.dataset,
      target: warehouseTable(table.name),
      staging: this.staging,
      pipeline,
      extraColumns: [...evolved.map((e) => e.name), ...lookups.map((l) => l.column)],
      scratch: ident(`${base}_plan`),
      partitioned: layout !== undefined,
    });
  }

  /**
   * Encodes rows as COPY text, in chunks of about COPY_CHUNK characters; `staged` adds the staging
   * table's `_ord` column. Rows are appended to one string and cut into a Buffer at each chunk:
   * an array of row strings joined at the end cost twice the CPU (in-process, the push's rows:
   * 2.1 against 1.2 µs per row), and the whole flush's text never exists at once (the generator
   * is pulled as the COPY stream takes its chunks).
   */
  private *encode(items: TableRows[], staged = true): Generator<Buffer> {
    const fields = this.dataset.fields;
    let text = '';
    let ord = 0;
    for (const it of items) {
      const tail = `${copyValue('text', it.msgId)}\t${copyValue('text', new Date(it.ingestedAt).toISOString())}\t${copyValue('text', it.sourceTime ?? null)}`;
      for (const rec of it.records) {
        for (let i = 0; i < fields.length; i++) text += `${copyValue(fields[i]!.type, rec[fields[i]!.name])}\t`;
        // Evolved columns hold values as they arrived: each is encoded by its own JSON type.
        for (const e of this.evolved) text += `${copyValue(inferFieldType(rec[e.name]) ?? 'string', rec[e.name])}\t`;
        text += staged ? `${tail}\t${ord++}\n` : `${tail}\n`;
        if (text.length >= COPY_CHUNK) {
          yield Buffer.from(text);
          text = '';
        }
      }
    }
    if (text.length > 0) yield Buffer.from(text);
  }

  /** Writes `items` in the open transaction; returns what each message's records did (the mode's counts). */
  async write(client: PoolClient, items: TableRows[]): Promise<Map<string, RowCounts>> {
    const counts = new Map<string, RowCounts>();
    if (items.every((i) => i.records.length === 0)) return counts;
    if (await this.writeDirect(client, items)) {
      for (const it of items)
        if (it.records.length > 0) addCounts(counts, it.msgId, { inserted: it.records.length, updated: 0, unchanged: 0 });
      return counts;
    }
    if (!this.prepared.has(client)) {
      await client.query(this.stagingDdl);
      for (const stmt of this.mode.sessionSql ?? []) await client.query(stmt);
      this.prepared.add(client);
    }
    await client.query(`TRUNCATE ${this.staging}`);
    await pump(Readable.from(this.encode(items)), client.query(copyFrom(this.copySql)));
    await this.partitions?.ensure(client);
    for (const stmt of [...this.lookupSql, ...(this.mode.beforeMerge ?? [])]) await client.query(stmt);
    const r = await client.query<{ _msg_id: string } & RowCounts>(this.mode.mergeSql);
    for (const row of r.rows) addCounts(counts, row._msg_id, row);
    return counts;
  }

  /**
   * The direct path of plain appends and upserts: one COPY into the target under a savepoint,
   * which is what the staging path's merge would write when no key repeats, none is stored and
   * every row is accepted. When the COPY fails (a key already loaded or repeated in the flush, a
   * refused value: the table's unique key index refuses the first two), the savepoint is
   * rolled back and the staging path decides row by row; after a failure the next flushes of this
   * table take the staging path straight away, since repeats tend to come in runs (replays).
   * Returns whether the rows were written.
   */
  private async writeDirect(client: PoolClient, items: TableRows[]): Promise<boolean> {
    const direct = this.direct;
    if (!direct) return false;
    if (direct.pausedFlushes > 0) {
      direct.pausedFlushes--;
      return false;
    }
    const lsn = direct.lsnField;
    if (lsn !== undefined && !items.every((it) => it.records.every((r) => r[lsn] == null || PG_LSN.test(String(r[lsn]))))) return false;
    await client.query('SAVEPOINT trib_direct');
    try {
      await pump(Readable.from(this.encode(items, false)), client.query(copyFrom(direct.sql)));
    } catch (err) {
      if (!isDataError(err)) throw err;
      await client.query('ROLLBACK TO SAVEPOINT trib_direct');
      direct.pausedFlushes = DIRECT_PAUSE_FLUSHES;
      this.directFallbacks++;
      return false;
    }
    await client.query('RELEASE SAVEPOINT trib_direct');
    return true;
  }

  /** The transaction on `client` committed (partitions it created are known to exist). */
  committed(client: PoolClient): void {
    this.partitions?.committed(client);
  }

  /** The transaction, or a savepoint, on `client` rolled back. */
  rolledBack(client: PoolClient): void {
    // The staging table may have been created in what was rolled back: create it again if so.
    this.prepared.delete(client);
    this.partitions?.discard(client);
  }
}

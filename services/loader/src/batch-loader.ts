/**
 * Loads a batch of processed messages in one transaction per flush: ledger rows first (their
 * primary key makes a concurrent or repeated delivery of the same message wait, then skip),
 * then each table's rows, then the ledger counts; commit; only then may the loop ack.
 * When the warehouse rejects data, a single message is loaded row by row under savepoints so only
 * the bad records are dead-lettered.
 *
 * Every table loads through its sink (sinks/: postgres, clickhouse), called the same way: a
 * sink writes inside the ledger transaction (PostgreSQL) or idempotently before its commit and
 * makes the rows visible after it (ClickHouse), so the ledger stays the one record of what was
 * loaded.
 */
import type { LedgerCounts } from '@tributary/warehouse/bookkeeping';
import { guardClient } from '@tributary/warehouse/guard-client';
import { tablesOf, type Pipeline, type Table } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import type { Logger } from '@tributary/runtime/logger';
import type { Pool, PoolClient } from 'pg';
import { classifyPgError } from './postgres/pg-errors';
import type { LoadItem, RejectedRow, RowCounts, TableRows, TableSink } from './sink';
import { stageSourceTxns } from './source-txns';
import { createTableSinks } from './table-sinks';

export type { LoadItem, RejectedRow } from './sink';

/** What a flush did, per table: the ledger's load counts summed, and more. */
export interface TableSummary extends LedgerCounts {
  table: string;
  messages: number;
  /** Messages skipped because the ledger already had them (redelivery). */
  replayed: number;
  firstSeq: number;
  lastSeq: number;
  minIngestedAt: number;
  maxIngestedAt: number;
  /** Models that scored the loaded records (`Trib-Model` of the messages), when any did. */
  models?: string[];
}

/** Loads batches for one pipeline. */
export class BatchLoader {
  private readonly sinks: Map<string, TableSink>;

  /**
   * `blocked`: tables whose warehouse schema cannot take the spec (incompatible change), with
   * the reason. Their records are dead-lettered (TRIB_E_SCHEMA_INCOMPATIBLE, replayable once the
   * table is fixed) while the pipeline's other tables go on loading.
   * `sinks`: the tables' sinks by table name (opened by `openTableSinks`); by default each table's
   * sink is made here, unopened (enough for PostgreSQL tables, which `migrate` made).
   */
  constructor(
    private readonly pool: Pool,
    private readonly pipeline: Pipeline,
    private readonly blocked: ReadonlyMap<string, string> = new Map(),
    logger?: Logger,
    sinks: ReadonlyMap<string, TableSink> = createTableSinks(pipeline, logger).sinks,
  ) {
    // Dimensions first: facts of the same flush look up the versions it just wrote (only scd2
    // tables are looked up, and they look up nothing themselves).
    const ordered = [...pipeline.tables.filter((t) => t.mode === 'scd2'), ...pipeline.tables.filter((t) => t.mode !== 'scd2')];
    this.sinks = new Map(
      ordered.map((t) => {
        const sink = sinks.get(t.name);
        if (!sink) throw new Error(`table ${t.name} of pipeline ${pipeline.name} has no sink`);
        return [t.name, sink];
      }),
    );
  }

  /**
   * Loads `items`. `onRejected` must make rejected rows durable (DLQ) before it resolves; it is
   * called on the row-by-row path of a single message, for the records of blocked tables, and for
   * records a sink refuses on their own (a value a ClickHouse column cannot hold).
   */
  async load(items: LoadItem[], onRejected: (rows: RejectedRow[]) => Promise<void>): Promise<TableSummary[]> {
    const { summaries, loaded } = await this.loadInTransaction(items, onRejected);
    await this.afterCommit(loaded);
    return summaries;
  }

  /** After the ledger commit: each sink finishes the messages of its table (ClickHouse makes their rows visible). */
  private async afterCommit(items: LoadItem[]): Promise<void> {
    for (const [name, sink] of this.sinks) {
      if (this.blocked.has(name)) continue;
      await sink.afterCommit([...new Set(items.filter((i) => i.dataset === sink.table.from).map((i) => i.msgId))]);
    }
  }

  /**
   * One ledger transaction: grouped messages (a source transaction's parts) are staged first and
   * loaded only with their whole group (source-txns.ts); `loaded` is what this commit loaded.
   */
  private async loadInTransaction(
    items: LoadItem[],
    onRejected: (rows: RejectedRow[]) => Promise<void>,
  ): Promise<{ summaries: TableSummary[]; loaded: LoadItem[] }> {
    try {
      return await this.transaction(async (c) => {
        const loaded = await stageSourceTxns(c, this.pipeline.name, items);
        const blockedRows: RejectedRow[] = [];
        const summaries = await this.loadAll(c, loaded, false, blockedRows);
        if (blockedRows.length > 0) await onRejected(blockedRows);
        return { summaries, loaded };
      });
    } catch (err) {
      const e = classifyPgError(err, `loading ${items.length} message(s) of pipeline ${this.pipeline.name}`);
      if (e.code !== 'TRIB_E_LOAD_REJECTED' || items.length !== 1) throw e;
      const rejected: RejectedRow[] = [];
      return await this.transaction(async (c) => {
        const loaded = await stageSourceTxns(c, this.pipeline.name, items);
        const summaries = await this.loadAll(c, loaded, true, rejected);
        // The dead letters are durable before the commit; a crash in between replays the same
        // (deduplicated) dead-letter IDs.
        if (rejected.length > 0) await onRejected(rejected);
        return { summaries, loaded };
      });
    }
  }

  private async transaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = guardClient(await this.pool.connect());
    } catch (err) {
      throw classifyPgError(err, 'connecting to the warehouse');
    }
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      for (const w of this.sinks.values()) w.committed(client);
      client.release();
      return out;
    } catch (err) {
      for (const w of this.sinks.values()) w.rolledBack(client);
      await client.query('ROLLBACK').catch(() => undefined);
      // Destroy the session: its temp staging tables may have been created in the failed transaction.
      client.release(true);
      throw err;
    }
  }

  private async loadAll(client: PoolClient, items: LoadItem[], isolate: boolean, rejected: RejectedRow[]): Promise<TableSummary[]> {
    const pairs: { item: LoadItem; table: Table }[] = [];
    // A message given twice in one flush is loaded once: the ledger only dedupes across statements.
    const unique = [...new Map(items.map((i) => [i.msgId, i])).values()];
    for (const item of unique) for (const table of tablesOf(this.pipeline, item.dataset)) pairs.push({ item, table });
    if (pairs.length === 0) return [];
    // Ledger rows are taken in one order (table, message ID) whatever the order of the flush, so
    // two loaders given the same redelivered messages in another order wait instead of deadlocking.
    const fresh = await client.query<{ table_name: string; msg_id: string }>(
      `INSERT INTO tributary.load_ledger (pipeline, table_name, msg_id, dataset, stream_seq, records, written, inserted, updated, unchanged, skipped, ingested_at, source_time)
       SELECT $1, t, m, d, s, r, 0, 0, 0, 0, 0, to_timestamp(i / 1000.0), st
       FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::float8[], $8::timestamptz[]) AS u(t, m, d, s, r, i, st)
       ORDER BY t, m
       ON CONFLICT (pipeline, table_name, msg_id) DO NOTHING
       RETURNING table_name, msg_id`,
      [
        this.pipeline.name,
        pairs.map((p) => p.table.name),
        pairs.map((p) => p.item.msgId),
        pairs.map((p) => p.item.dataset),
        pairs.map((p) => p.item.seq),
        pairs.map((p) => p.item.records.length),
        pairs.map((p) => p.item.ingestedAt),
        pairs.map((p) => p.item.sourceTime ?? null),
      ],
    );
    const isFresh = new Set(fresh.rows.map((r) => `${r.table_name}\u0000${r.msg_id}`));
    const summaries: TableSummary[] = [];
    const ledger: ({ table: string; msgId: string; records: number; skipped: number } & RowCounts)[] = [];
    for (const [name, sink] of this.sinks) {
      const mine = pairs.filter((p) => p.table.name === name);
      if (mine.length === 0) continue;
      const todo = mine.filter((p) => isFresh.has(`${name}\u0000${p.item.msgId}`));
      const rows: TableRows[] = todo.map((p) => ({
        msgId: p.item.msgId,
        records: p.item.records,
        ingestedAt: p.item.ingestedAt,
        ...(p.item.sourceTime ? { sourceTime: p.item.sourceTime } : {}),
      }));
      const origins = todo.map((p) => p.item);
      let counts: Map<string, RowCounts>;
      const blocked = this.blocked.get(name);
      if (blocked !== undefined) {
        for (const [k, r] of rows.entries()) {
          r.records.forEach((record, index) =>
            rejected.push({
              item: origins[k]!,
              table: sink.table,
              index,
              record,
              error: new TributaryError('TRIB_E_SCHEMA_INCOMPATIBLE', blocked, { location: { field: `tables.${name}` } }),
            }),
          );
          r.records = [];
        }
        counts = new Map();
      } else {
        counts = await sink.write({ client, rows, origins, rejected, isolate });
      }
      const s: TableSummary = {
        table: name,
        messages: todo.length,
        replayed: mine.length - todo.length,
        records: 0,
        written: 0,
        inserted: 0,
        updated: 0,
        unchanged: 0,
        skipped: 0,
        firstSeq: Math.min(...mine.map((p) => p.item.seq)),
        lastSeq: Math.max(...mine.map((p) => p.item.seq)),
        minIngestedAt: Math.min(...mine.map((p) => p.item.ingestedAt)),
        maxIngestedAt: Math.max(...mine.map((p) => p.item.ingestedAt)),
      };
      for (const r of rows) {
        const c = counts.get(r.msgId) ?? { inserted: 0, updated: 0, unchanged: 0 };
        const skipped = r.records.length - c.inserted - c.updated - c.unchanged;
        if (skipped < 0) {
          throw new Error(`table ${name}, message ${r.msgId}: the load mode counted more outcomes than the ${r.records.length} records`);
        }
        ledger.push({ table: name, msgId: r.msgId, records: r.records.length, ...c, skipped });
        s.records += r.records.length;
        s.written += c.inserted + c.updated;
        s.inserted += c.inserted;
        s.updated += c.updated;
        s.unchanged += c.unchanged;
        s.skipped += skipped;
      }
      const models = [...new Set(todo.flatMap((p) => (p.item.model ? p.item.model.split(', ') : [])))].sort();
      if (models.length > 0) s.models = models;
      summaries.push(s);
    }
    if (ledger.length > 0) {
      await client.query(
        `UPDATE tributary.load_ledger l SET records = u.r, written = u.i + u.u, inserted = u.i, updated = u.u, unchanged = u.n, skipped = u.s
         FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[]) AS u(t, m, r, i, u, n, s)
         WHERE l.pipeline = $1 AND l.table_name = u.t AND l.msg_id = u.m`,
        [
          this.pipeline.name,
          ledger.map((l) => l.table),
          ledger.map((l) => l.msgId),
          ledger.map((l) => l.records),
          ledger.map((l) => l.inserted),
          ledger.map((l) => l.updated),
          ledger.map((l) => l.unchanged),
          ledger.map((l) => l.skipped),
        ],
      );
    }
    return summaries;
  }
}

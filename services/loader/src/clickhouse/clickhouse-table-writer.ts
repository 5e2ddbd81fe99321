/**
 * Writes one table's share of a flush into ClickHouse (layout and reasoning in core's
 * clickhouse-layout.ts): the table sink of the `clickhouse` kind (sinks/clickhouse.ts). The batch
 * loader calls it inside its PostgreSQL transaction, after the ledger rows of the flush are
 * inserted and before they commit:
 *
 * 1. `write`: the records of the messages new to the ledger go into the store table in one
 *    `INSERT ... FORMAT JSONEachRow`, each row keyed by (message ID, record index). Writing a
 *    message again (the ledger transaction failed or the loader died before its commit, and the
 *    message came back) writes the same keys, which ClickHouse collapses, so the write is
 *    idempotent and needs no transaction.
 * 2. the ledger commits (PostgreSQL);
 * 3. `afterCommit`: the messages go into `<table>__loads`, which makes their rows visible in the
 *    view. It runs for every message of the flush the ledger holds, including ones it already
 *    held, so a crash between 2 and 3 is repaired by the redelivery.
 *
 * A ClickHouse outage throws TRIB_E_WAREHOUSE_UNAVAILABLE and the consumer loop retries the batch
 * in process; nothing is acked before step 3. A record whose value does not fit its column is
 * rejected here with its field and dead-lettered; one ClickHouse refuses makes the loader isolate
 * the message and write it one record per INSERT, so only that record is dead-lettered.
 */
import { chTable, ensureClickHouseTable, type ClickHouseTarget } from '@tributary/warehouse/clickhouse';
import { isTributaryError } from '@tributary/contract/errors';
import { type Pipeline, type Table } from '@tributary/contract/spec';
import type { Logger } from '@tributary/runtime/logger';
import type { RowCounts, SinkBatch, TableRows, TableSink } from '../sink';
import { encodeRow } from './row-encoder';

/** Loads rows into one ClickHouse table. */
export class ClickHouseTableWriter implements TableSink {
  private readonly store: string;
  private readonly loads: string;

  constructor(
    readonly target: ClickHouseTarget,
    readonly pipeline: Pipeline,
    readonly table: Table,
    private readonly logger?: Logger,
  ) {
    this.store = chTable(target.layout.database, target.layout.store);
    this.loads = chTable(target.layout.database, target.layout.loads);
  }

  /**
   * Creates or evolves the table as `migrate` does, so a loader started against an empty
   * ClickHouse, or after a ClickHouse wipe, still loads. An incompatible change is returned, to be
   * blocked like a PostgreSQL table; an unreachable server throws (the start fails).
   */
  async open(): Promise<string[]> {
    try {
      for (const action of await ensureClickHouseTable(this.target, this.pipeline, this.table))
        this.logger?.info({ pipeline: this.pipeline.name, table: this.table.name }, action);
      return [];
    } catch (err) {
      if (!isTributaryError(err, 'TRIB_E_SCHEMA_INCOMPATIBLE')) throw err;
      return (err.details as string[] | undefined) ?? [err.message];
    }
  }

  /**
   * Writes `rows` (one entry per message, `origins[k]` its origin). Records that cannot be stored
   * go to `rejected` and are left out of `rows[k].records`; when `isolate`d every record is its own
   * INSERT, so a record ClickHouse refuses is rejected alone. Returns the counts per message:
   * ClickHouse cannot tell an insert from an update, so every stored row counts `inserted`
   * (append semantics; an aggregate's partials are inserted rows merged at query time).
   */
  async write({ rows, origins, rejected, isolate }: SinkBatch): Promise<Map<string, RowCounts>> {
    const written = new Map<string, RowCounts>();
    const lines: string[] = [];
    for (const [k, row] of rows.entries()) {
      const kept: TableRows['records'] = [];
      for (const [index, record] of row.records.entries()) {
        const reject = (err: unknown): void => {
          if (!isTributaryError(err, 'TRIB_E_LOAD_REJECTED')) throw err;
          rejected.push({ item: origins[k]!, table: this.table, index, record, error: err });
        };
        let line: string;
        try {
          line = encodeRow(this.target.layout.fields, record, {
            msgId: row.msgId,
            index,
            ingestedAt: row.ingestedAt,
            ...(row.sourceTime ? { sourceTime: row.sourceTime } : {}),
          });
        } catch (err) {
          reject(err);
          continue;
        }
        if (isolate) {
          try {
            await this.target.client.insert(this.store, line);
          } catch (err) {
            reject(err);
            continue;
          }
        } else lines.push(line);
        kept.push(record);
      }
      row.records = kept;
      if (kept.length > 0) written.set(row.msgId, { inserted: kept.length, updated: 0, unchanged: 0 });
    }
    await this.target.client.insert(this.store, lines.join(''));
    return written;
  }

  /** Makes the rows of these messages visible: their ledger rows are committed. */
  async afterCommit(msgIds: string[]): Promise<void> {
    if (msgIds.length === 0) return;
    const now = Math.floor(Date.now() / 1000);
    await this.target.client.insert(this.loads, msgIds.map((id) => `{"_msg_id":${JSON.stringify(id)},"_loaded_at":${now}}\n`).join(''));
  }

  /** Nothing to do: ClickHouse writes are not part of the PostgreSQL transaction. */
  committed(): void {}

  /** Nothing to undo: rows of a load that did not commit stay invisible and are rewritten. */
  rolledBack(): void {}

  async ready(): Promise<string | undefined> {
    return (await this.target.client.ping()) ? undefined : `ClickHouse at ${this.target.client.where} unreachable`;
  }

  /** The client is shared by the pipeline's tables on its connection; its owner closes it. */
  close(): void {}
}

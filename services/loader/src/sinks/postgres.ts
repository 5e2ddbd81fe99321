/**
 * The `postgres` sink: a table without `sink:` loads into the PostgreSQL warehouse, in the ledger
 * transaction itself (postgres/table-writer.ts: COPY, the load mode's merge). An isolated message
 * is written one record per savepoint, so only the records PostgreSQL refuses are rejected. A
 * dataset under `on_drift: evolve` gets a column for each new field first (postgres/evolved-columns.ts).
 */
import { datasetOf, SINK_MODES, SINK_SPECS, type Table } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import type { Logger } from '@tributary/runtime/logger';
import type { PoolClient } from 'pg';
import { addColumns, newFields } from '../postgres/evolved-columns';
import { classifyPgError } from '../postgres/pg-errors';
import { TableWriter, type EvolvedColumn } from '../postgres/table-writer';
import { addCounts, type RowCounts, type SinkBatch, type SinkDeps, type SinkKind, type TableSink } from '../sink';

/** Config shape (from the core spec): no `sink:`. */
export const spec = SINK_SPECS.postgres;

/** Every load mode. */
export const modes = SINK_MODES.postgres;

/** A PostgreSQL warehouse table. */
export class PostgresTableSink implements TableSink {
  /** Whether the dataset is under `on_drift: evolve`. */
  private readonly evolve: boolean;
  /** The writer as of the last commit: a rolled-back flush takes its added columns back. */
  private committedWriter: TableWriter;

  constructor(
    public writer: TableWriter,
    private readonly logger?: Logger,
  ) {
    this.evolve = datasetOf(writer.pipeline, writer.table).onDrift === 'evolve';
    this.committedWriter = writer;
  }

  /** `evolve`: adds a column for each new field of `rows` in the open transaction, and writes with them from now on. */
  private async evolveFor(client: PoolClient, rows: SinkBatch['rows']): Promise<void> {
    const w = this.writer;
    const have = new Set([...w.dataset.fields.map((f) => f.name), ...w.evolved.map((e) => e.name)]);
    const fresh = newFields(
      rows.flatMap((r) => r.records),
      have,
    );
    if (fresh.size === 0) return;
    const added: EvolvedColumn[] = await addColumns(client, w.table.name, fresh, this.logger);
    this.writer = new TableWriter(w.pipeline, w.table, this.logger, [...w.evolved, ...added]);
  }

  get table(): Table {
    return this.writer.table;
  }

  /** Nothing to open: `migrate` made the table, and the loader's start-up checks its schema. */
  async open(): Promise<string[]> {
    return [];
  }

  async write({ client, rows, origins, rejected, isolate }: SinkBatch): Promise<Map<string, RowCounts>> {
    if (this.evolve) await this.evolveFor(client, rows);
    if (!isolate) return this.writer.write(client, rows);
    const counts = new Map<string, RowCounts>();
    for (const [k, row] of rows.entries()) {
      const kept: Rec[] = [];
      for (const [i, rec] of row.records.entries()) {
        await client.query('SAVEPOINT row');
        try {
          const w = await this.writer.write(client, [{ ...row, records: [rec] }]);
          await client.query('RELEASE SAVEPOINT row');
          const c = w.get(row.msgId);
          if (c) addCounts(counts, row.msgId, c);
          kept.push(rec);
        } catch (err) {
          await client.query('ROLLBACK TO SAVEPOINT row');
          this.writer.rolledBack(client);
          const e = classifyPgError(err, `table ${this.table.name}, record ${i}`);
          if (e.code !== 'TRIB_E_LOAD_REJECTED') throw e;
          rejected.push({ item: origins[k]!, table: this.table, index: i, record: rec, error: e });
        }
      }
      row.records = kept;
    }
    return counts;
  }

  /** The rows committed with the ledger: nothing left to do. */
  async afterCommit(): Promise<void> {}

  committed(client: PoolClient): void {
    this.writer.committed(client);
    this.committedWriter = this.writer;
  }

  rolledBack(client: PoolClient): void {
    this.writer.rolledBack(client);
    // Columns added in the rolled-back transaction are gone: write without them (they come back when needed).
    this.writer = this.committedWriter;
  }

  /** The pool is the ledger's: the loader's readiness checks it. */
  async ready(): Promise<string | undefined> {
    return undefined;
  }

  close(): void {}
}

/** Creates the table's sink. */
export const create: SinkKind<typeof spec>['create'] = (table, { pipeline, logger }: SinkDeps) =>
  new PostgresTableSink(new TableWriter(pipeline, table, logger), logger);

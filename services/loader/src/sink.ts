/**
 * The shape of a sink kind: where a table's rows land. A kind is one file in `sinks/` exporting
 * its config `spec` (zod, from core's SINK_SPECS), the load `modes` it takes (core's SINK_MODES,
 * which `validate` checks tables against) and `create(table, deps)`, which builds the table's sink
 * without touching the network; `open()` does the I/O. The batch loader calls every sink the same
 * way inside its ledger transaction, so adding a warehouse is one file there and one line in
 * `sinks/registry.ts`. This shape sits above `sinks/` because the writers the kinds wrap
 * (`postgres/`, `clickhouse/`) implement it too, and no room may import back into `sinks/`.
 */
import type { Logger } from '@tributary/runtime/logger';
import type { LoadMode, Pipeline, Table } from '@tributary/contract/spec';
import type { TxnGroup } from '@tributary/contract/wire';
import type { Rec } from '@tributary/contract/codec';
import type { TributaryError } from '@tributary/contract/errors';
import type { PoolClient } from 'pg';
import type { z } from 'zod';

/** One decoded processed message. */
export interface LoadItem {
  msgId: string;
  dataset: string;
  seq: number;
  ingestedAt: number;
  /** `Trib-Source-Time` of the message: its records' oldest source time (canonical), when the source has one. */
  sourceTime?: string;
  records: Rec[];
  /** `Trib-Model` of the message: the models that scored its records, for the load's lineage. */
  model?: string;
  /** The source-transaction group it belongs to (`Trib-Txn-*`): loaded only with the whole group (source-txns.ts). */
  txn?: TxnGroup;
  /** The message body as received (staged as is while its group waits). */
  body?: Buffer;
}

/** A record the warehouse refused. */
export interface RejectedRow {
  item: LoadItem;
  table: Table;
  index: number;
  record: Rec;
  error: TributaryError;
}

/** Rows of one input message for a table. */
export interface TableRows {
  msgId: string;
  records: Rec[];
  ingestedAt: number;
  /** The message's source time (stored per row in `_source_time`). */
  sourceTime?: string;
}

/**
 * What one message's records did to a table (docs/warehouse.md, Load counts); its records not
 * counted here were skipped.
 */
export interface RowCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

/** Adds `add` to the counts of `msgId` in `counts`. */
export function addCounts(counts: Map<string, RowCounts>, msgId: string, add: RowCounts): void {
  const c = counts.get(msgId) ?? { inserted: 0, updated: 0, unchanged: 0 };
  counts.set(msgId, { inserted: c.inserted + add.inserted, updated: c.updated + add.updated, unchanged: c.unchanged + add.unchanged });
}

/** One table's share of a flush, as the batch loader hands it to the table's sink. */
export interface SinkBatch {
  /** The ledger transaction (PostgreSQL): a sink that writes PostgreSQL writes in it. */
  client: PoolClient;
  /** One entry per message new to the ledger; records the sink refuses are taken out of `records`. */
  rows: TableRows[];
  /** `origins[k]` is the message `rows[k]` came from. */
  origins: LoadItem[];
  /** Where refused records go, with their index and error (dead-lettered before the commit). */
  rejected: RejectedRow[];
  /**
   * The warehouse refused this message when loaded with others: write record by record, so only
   * the records it refuses are rejected. Otherwise a refusal may throw TRIB_E_LOAD_REJECTED.
   */
  isolate: boolean;
}

/** A table's writer in its sink. */
export interface TableSink {
  readonly table: Table;
  /**
   * Makes the table ready to write (a sink whose tables live outside PostgreSQL creates or
   * evolves them as `migrate` does). Resolves to the problems that block the table (an
   * incompatible schema change), empty when none; throws when the sink is unreachable.
   */
  open(): Promise<string[]>;
  /** Writes the batch inside the ledger transaction; resolves to what each message's records did. */
  write(batch: SinkBatch): Promise<Map<string, RowCounts>>;
  /** After the ledger commit, for every message of the flush the ledger holds (also ones it held before). */
  afterCommit(msgIds: string[]): Promise<void>;
  /** The ledger transaction on `client` committed. */
  committed(client: PoolClient): void;
  /** The ledger transaction, or a savepoint, on `client` rolled back. */
  rolledBack(client: PoolClient): void;
  /** Why the sink cannot take writes now (for /readyz), or undefined when it can. */
  ready(): Promise<string | undefined>;
  /** Releases what the sink holds (its clients). */
  close(): void;
}

/** Something a pipeline's sinks share, one per key (a client per connection). */
export interface SharedResource {
  close(): void;
}

/** What a sink factory gets. */
export interface SinkDeps {
  pipeline: Pipeline;
  logger?: Logger;
  /**
   * The resource under `key`, made by `make` the first time: tables on one connection share a
   * client. The owner of the deps closes them all.
   */
  shared<T extends SharedResource>(key: string, make: () => T): T;
}

/** A sink kind module. */
export interface SinkKind<S extends z.ZodType> {
  /** Its `sink:` config shape (core's SINK_SPECS entry). */
  spec: S;
  /** The load modes it takes (core's SINK_MODES entry). */
  modes: readonly LoadMode[];
  /** Builds one table's sink; touches no network. */
  create(table: Table, deps: SinkDeps): TableSink;
}

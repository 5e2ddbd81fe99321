/**
 * A snapshot taken while a `postgres_cdc` slot already exists, at a known LSN, and the cut-off
 * that keeps the slot's stream from repeating what that snapshot read.
 *
 * The slot's own snapshot (CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT) dies with its walsender
 * connection, so a table (or key range) read later, after a crash or on request, is read in a new
 * snapshot: a TEMPORARY slot created with EXPORT_SNAPSHOT gives one together with the exact LSN S
 * it stands at (transactions committed before S are in it, those from S on are not), and is gone
 * when its connection closes. The slot streams from its own older point, so a change committed
 * before S to a row the new snapshot read is in that snapshot already: `CutoffFilter` drops it
 * (and turns a key update that moves a row into the re-read range into the delete of its old key).
 * What was read is described by `SnapshotCutoff`s, committed in the source's cursor before
 * anything read in the new snapshot is published, and kept until the stream has passed S.
 *
 * Used by the initial snapshot's resume after a crash (`initial-snapshot.ts`); a user-requested
 * re-read of one table builds on the same two parts.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { TributaryError } from '@tributary/contract/errors';
import { parseLsn } from './lsn';
import { connectPostgres, quoteIdent } from './pg-connection';
import { keyAfter, keyOf, type KeyColumn } from './table-key';

export type { KeyColumn } from './table-key';

/**
 * Rows of `table` read in a snapshot at `lsn`: all of them, or (with `after`) those whose primary
 * key sorts after `after`. A change committed before `lsn` to such a row is in that snapshot.
 */
export interface SnapshotCutoff {
  /** `schema.table`, as records' `_table`. */
  table: string;
  /** Its primary key; empty when the table was read whole (no usable key). */
  key: KeyColumn[];
  /** The key (text values, key order) after which rows were read; absent: every row. */
  after?: string[];
  /** The snapshot's LSN (`X/Y`). */
  lsn: string;
}

/** A snapshot exported by a temporary slot: read in it with SET TRANSACTION SNAPSHOT while it is open. */
export interface CatchUpSnapshot {
  /** The LSN it stands at: transactions committed before it are in it. */
  lsn: bigint;
  /** Name for `SET TRANSACTION SNAPSHOT` (valid until `close`). */
  snapshotName: string;
  /** Ends the walsender session: the snapshot and the temporary slot are gone. */
  close(): Promise<void>;
}

/**
 * Takes a snapshot at a known LSN: a TEMPORARY logical slot with EXPORT_SNAPSHOT on its own
 * walsender connection (needs one free replication slot while it is open). Like any slot creation
 * it waits for transactions running at that moment to end. `name` prefixes the slot's name.
 */
export async function takeCatchUpSnapshot(url: string, name: string): Promise<CatchUpSnapshot> {
  const repl = await connectPostgres(url, { replication: true, application: `tributary-cdc-catchup-${name}`.slice(0, 63) });
  try {
    // A unique name: a killed run's temporary slot lives on until the server notices its connection died.
    const slot = `${name.slice(0, 45)}_tmp_${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    const r = await repl.query<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    const row = r.rows[0]!;
    return {
      lsn: parseLsn(row.consistent_point),
      snapshotName: row.snapshot_name,
      close: () => repl.end().catch(() => undefined),
    };
  } catch (err) {
    await repl.end().catch(() => undefined);
    throw new TributaryError('TRIB_E_UNAVAILABLE', `cannot take a snapshot at a known LSN: ${(err as Error).message}`, { cause: err });
  }
}

/** Asks PostgreSQL one boolean question (`SELECT ... AS after`). */
export function askServer(client: Client): (sql: string) => Promise<boolean> {
  return async (sql) => (await client.query<{ after: boolean }>(sql)).rows[0]!.after;
}

/**
 * Applies snapshot cut-offs to the slot's change records (as `changeRecord` makes them): drops a
 * change a later snapshot read already, passes every other. Only changes committed before the
 * newest cut-off's LSN are looked at; past it the filter is a comparison of two numbers.
 */
export class CutoffFilter {
  private readonly byTable = new Map<string, { c: SnapshotCutoff; lsn: bigint }[]>();
  /** The newest cut-off's LSN: changes committed from here on all pass. */
  readonly until: bigint;

  constructor(
    cutoffs: readonly SnapshotCutoff[],
    /** Answers a key comparison for non-integer keys (`askServer`). */
    private readonly ask: (sql: string) => Promise<boolean>,
  ) {
    let until = 0n;
    for (const c of cutoffs) {
      const lsn = parseLsn(c.lsn);
      if (lsn > until) until = lsn;
      const list = this.byTable.get(c.table) ?? [];
      list.push({ c, lsn });
      this.byTable.set(c.table, list);
    }
    this.until = until;
  }

  /**
   * The record to publish for a change committed at `commitLsn`: `record` itself, undefined when a
   * snapshot read after that commit has the row already, the delete of the old key when an update
   * moved a row from a range published earlier into one read after it, or an insert when it moved a
   * row the other way (its old key was never published).
   */
  async apply(record: Record<string, unknown>, commitLsn: bigint): Promise<Record<string, unknown> | undefined> {
    if (commitLsn >= this.until) return record;
    const list = this.byTable.get(String(record._table));
    if (!list) return record;
    const op = record._op;
    const newCovered = await this.covered(list, record, commitLsn);
    if (op !== 'update') return newCovered ? undefined : record;
    const before = record._before as Record<string, unknown> | undefined;
    const key = list[0]!.c.key;
    const oldKey = before && key.length > 0 ? keyOf(before, key) : undefined;
    const newKey = key.length > 0 ? keyOf(record, key) : undefined;
    const moved = oldKey !== undefined && newKey !== undefined && oldKey.some((v, i) => v !== newKey[i]);
    if (!moved) return newCovered ? undefined : record;
    const oldCovered = await this.covered(list, before!, commitLsn);
    if (newCovered && oldCovered) return undefined;
    if (newCovered) {
      // The new row is in the later snapshot; the old one was published before: only its removal is news.
      const del: Record<string, unknown> = {};
      for (const c of key) del[c.name] = before![c.name];
      return { ...del, _table: record._table, _op: 'delete', _lsn: record._lsn, _seq: record._seq, _commit_at: record._commit_at };
    }
    if (oldCovered) {
      // The old key was never published (its range was read later, without this row): downstream
      // the row appears under its new key, with no old row to remove: an insert.
      const { _before: _unused, ...rest } = record;
      return { ...rest, _op: 'insert' };
    }
    return record;
  }

  /** Whether a snapshot taken after `commitLsn` read the row `row` (by its key). */
  private async covered(list: { c: SnapshotCutoff; lsn: bigint }[], row: Record<string, unknown>, commitLsn: bigint): Promise<boolean> {
    for (const { c, lsn } of list) {
      if (commitLsn >= lsn) continue;
      if (!c.after) return true;
      const k = keyOf(row, c.key);
      // Without its key a change cannot be placed: it is published (a repeat, never a loss).
      if (!k) continue;
      if (await keyAfter(c.key, k, c.after, this.ask)) return true;
    }
    return false;
  }
}

/** The newest LSN of `cutoffs` (formatted), or undefined when there are none. */
export function cutoffsUntil(cutoffs: readonly SnapshotCutoff[] | undefined): bigint | undefined {
  if (!cutoffs || cutoffs.length === 0) return undefined;
  return cutoffs.reduce((m, c) => (parseLsn(c.lsn) > m ? parseLsn(c.lsn) : m), 0n);
}

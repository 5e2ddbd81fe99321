/**
 * The record a replicated change becomes: the row's columns plus `_table`, `_op`, `_lsn`
 * (commit LSN of its transaction), `_seq` (its index in the transaction) and `_commit_at`.
 */
import { sourceTimeFromMicros } from '@tributary/contract/wire';
import { formatLsn } from './lsn';
import type { RowChange } from './replication-stream';

/** Operations a record can carry; `read` is a row of the initial snapshot. */
export type ChangeOp = 'insert' | 'update' | 'delete' | 'read';

/** The transaction a change belongs to. */
export interface TxnInfo {
  lsn: bigint;
  /** `lsn` as PostgreSQL writes it (`formatLsn`), once per transaction. */
  lsnText: string;
  /** Commit time, ISO 8601 with microseconds. */
  commitAt: string;
}

/** Microseconds since the Unix epoch as an ISO 8601 string with microseconds (Date keeps only ms): the canonical source time. */
export const isoMicros: (us: bigint) => string = sourceTimeFromMicros;

/** Where a change's source time is: its transaction's commit time (a snapshot row: the snapshot's start). */
export const COMMIT_TIME = { field: '_commit_at' } as const;

/**
 * The record of one insert, update or delete: its row (the new one; a delete's old row or key)
 * with the metadata added in place, as `snapshotRecords` does. The decoder's tuples are fresh
 * objects owned by the caller (`RowDecoder`); copying each into a new record showed in the
 * stream's profile. Keys, their order and values are those of `{ ...row, ...meta }`.
 */
export function changeRecord(change: RowChange, txn: TxnInfo, seq: number): Record<string, unknown> {
  const rec = change.tag === 'delete' ? (change.old ?? change.key ?? {}) : change.new!;
  rec._table = change.table;
  rec._op = change.tag;
  rec._lsn = txn.lsnText;
  rec._seq = seq;
  rec._commit_at = txn.commitAt;
  if (change.tag === 'update') {
    // The old row (REPLICA IDENTITY FULL) or old key (the key changed) when the server sends one.
    const before = change.old ?? change.key;
    if (before) rec._before = before;
  }
  return rec;
}

/**
 * The records of one chunk of the initial snapshot: each row gets its metadata in place (the rows
 * are fresh objects from the driver, owned by the caller) and the LSN is formatted once per chunk,
 * not once per row: both showed in the snapshot's profile.
 */
export function snapshotRecords(
  rows: Record<string, unknown>[],
  table: string,
  lsn: bigint,
  at: string,
  offset: number,
): Record<string, unknown>[] {
  const lsnText = formatLsn(lsn);
  const op: ChangeOp = 'read';
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    row._table = table;
    row._op = op;
    row._lsn = lsnText;
    row._seq = offset + i;
    row._commit_at = at;
  }
  return rows;
}

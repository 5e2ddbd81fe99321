/**
 * The record a replicated change becomes: the row's columns plus `_table`, `_op`, `_lsn`
 * (commit LSN of its transaction), `_seq` (its index in the transaction) and `_commit_at`.
 */
import { sourceTimeFromMicros } from '@tributary/contract/wire';
import type { Pgoutput } from 'pg-logical-replication';
import { formatLsn } from './lsn';

/** Operations a record can carry; `read` is a row of the initial snapshot. */
export type ChangeOp = 'insert' | 'update' | 'delete' | 'read';

/** The transaction a change belongs to. */
export interface TxnInfo {
  lsn: bigint;
  /** Commit time, ISO 8601 with microseconds. */
  commitAt: string;
}

/** Microseconds since the Unix epoch as an ISO 8601 string with microseconds (Date keeps only ms): the canonical source time. */
export const isoMicros: (us: bigint) => string = sourceTimeFromMicros;

/** Where a change's source time is: its transaction's commit time (a snapshot row: the snapshot's start). */
export const COMMIT_TIME = { field: '_commit_at' } as const;

/** A record for one insert, update or delete. */
export function changeRecord(
  msg: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete,
  txn: TxnInfo,
  seq: number,
): Record<string, unknown> {
  const meta = {
    _table: `${msg.relation.schema}.${msg.relation.name}`,
    _op: msg.tag as ChangeOp,
    _lsn: formatLsn(txn.lsn),
    _seq: seq,
    _commit_at: txn.commitAt,
  };
  if (msg.tag === 'insert') return { ...msg.new, ...meta };
  if (msg.tag === 'update') {
    // The old row (REPLICA IDENTITY FULL) or old key (the key changed) when the server sends one.
    const before = msg.old ?? msg.key;
    return { ...msg.new, ...meta, ...(before ? { _before: { ...before } } : {}) };
  }
  // A delete carries the key columns (the whole old row with REPLICA IDENTITY FULL).
  return { ...(msg.old ?? msg.key ?? {}), ...meta };
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

/**
 * First run of a `postgres_cdc` source: create the slot and, with `snapshot: initial`, read every
 * table at the slot's consistent point before streaming from it.
 */
import { toSourceTime } from '@tributary/contract/wire';
import { JsonLines } from '../../record-ingestor';
import type { PullContext } from '../pull-source';
import { COMMIT_TIME, snapshotRecords } from './cdc-records';
import { formatLsn } from './lsn';
import { connectPostgres } from './pg-connection';
import { createSlot } from './replication-setup';
import { readSnapshot } from './snapshot-reader';

/** Snapshot chunks published at once: enough to keep JetStream busy, few enough to bound memory. */
const SNAPSHOT_INFLIGHT = 4;

/**
 * Creates `slot` and publishes the snapshot rows; returns the consistent point. The caller has
 * committed `phase: snapshot` before, so a crash in here makes the next run drop the slot and
 * start over (rows already published are published again under new IDs: the snapshot is the
 * one place where a crash repeats records; upsert tables absorb them).
 */
export async function createSlotWithSnapshot(
  ctx: PullContext,
  o: { url: string; slot: string; tables: string[]; snapshot: boolean; chunkRows: number },
): Promise<bigint> {
  const repl = await connectPostgres(o.url, { replication: true, application: `tributary-cdc-${o.slot}` });
  try {
    const created = await createSlot(repl, o.slot, o.snapshot);
    ctx.logger.info({ slot: o.slot, consistentPoint: formatLsn(created.consistentPoint) }, 'created replication slot');
    if (!created.snapshotName) return created.consistentPoint;
    // The exported snapshot lives while `repl` stays open and idle: read everything now.
    const reader = await connectPostgres(o.url, { application: `tributary-cdc-snapshot-${o.slot}` });
    const lsnHex = created.consistentPoint.toString(16).toUpperCase().padStart(16, '0');
    const lsn = formatLsn(created.consistentPoint);
    const inflight: Promise<unknown>[] = [];
    let rows = 0;
    ctx.logger.info({ slot: o.slot, tables: o.tables, snapshot: created.snapshotName }, 'initial snapshot started');
    try {
      for await (const chunk of readSnapshot(reader, created.snapshotName, o.tables, o.chunkRows, { lsn })) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const position = `snap:${lsnHex}:${chunk.table}:${chunk.chunk}`;
        if (chunk.lines) {
          // Every record of the chunk has the same `_commit_at`: its source time, given once.
          const at = toSourceTime(chunk.at);
          inflight.push(ctx.publish(new JsonLines(chunk.lines), position, at ? { at } : COMMIT_TIME));
          rows += chunk.lines.length;
        } else {
          const records = snapshotRecords(chunk.rows ?? [], chunk.table, created.consistentPoint, chunk.at, chunk.offset);
          inflight.push(ctx.publish(records, position, COMMIT_TIME));
          rows += records.length;
        }
        if (inflight.length >= SNAPSHOT_INFLIGHT) await inflight.shift();
      }
      await Promise.all(inflight.splice(0));
    } finally {
      // Settle stragglers before closing, so no publish outlives the run unobserved.
      await Promise.allSettled(inflight);
      await reader.end().catch(() => undefined);
    }
    ctx.logger.info({ slot: o.slot, rows, tables: o.tables }, 'initial snapshot published');
    return created.consistentPoint;
  } finally {
    await repl.end().catch(() => undefined);
  }
}

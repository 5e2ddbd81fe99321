/**
 * The initial snapshot of a `postgres_cdc` source: create the slot and, with `snapshot: initial`,
 * read every table at the slot's consistent point C before streaming from it; after a crash,
 * resume it on the same slot.
 *
 * Each table is read in primary-key order and published in chunks at position
 * `snap:<C>:<table>:<chunk>`. What is durable is what JetStream stored: chunks are published in
 * order on one connection, so the stored ones are a prefix of the read, and the newest message of
 * the source says how far it goes (its last record: table, `_seq` and key). A resumed snapshot
 * cannot read in the slot's snapshot any more (it died with the walsender connection that created
 * the slot), so it reads the rest (the interrupted table after its last stored key, and the tables
 * not yet read) in a catch-up snapshot at a known LSN S (`catch-up-snapshot.ts`), and records
 * those ranges as cut-offs in the cursor before publishing any of it: the stream from C then drops
 * the changes committed before S to rows in those ranges. Every row is published once, for append
 * tables too.
 */
import { toSourceTime } from '@tributary/contract/wire';
import { JsonLines } from '../../record-ingestor';
import type { PullContext } from '../pull-source';
import { takeCatchUpSnapshot, type SnapshotCutoff } from './catch-up-snapshot';
import { COMMIT_TIME, snapshotRecords } from './cdc-records';
import { formatLsn } from './lsn';
import { connectPostgres, splitTable } from './pg-connection';
import { createSlot } from './replication-setup';
import { readSnapshot, type SnapshotTable } from './snapshot-reader';
import { keyOf, tableKey, type KeyColumn } from './table-key';

/** Snapshot chunks published at once: enough to keep JetStream busy, few enough to bound memory. */
const SNAPSHOT_INFLIGHT = 4;

/** What the snapshot reads from. */
interface SnapshotOptions {
  url: string;
  slot: string;
  tables: string[];
  chunkRows: number;
}

/** 16 hex digits of an LSN: the snapshot's identity in its chunks' positions. */
const lsnHex = (lsn: bigint): string => lsn.toString(16).toUpperCase().padStart(16, '0');

/**
 * Creates `slot` and, when `snapshot`, publishes every table's rows as of its consistent point;
 * returns the consistent point. `created` runs once the slot exists, before anything is published
 * (the caller commits the consistent point there).
 */
export async function createSlotWithSnapshot(
  ctx: PullContext,
  o: SnapshotOptions & { snapshot: boolean; created(consistentPoint: bigint): Promise<void> },
): Promise<bigint> {
  const repl = await connectPostgres(o.url, { replication: true, application: `tributary-cdc-${o.slot}` });
  try {
    const created = await createSlot(repl, o.slot, o.snapshot);
    const c = created.consistentPoint;
    ctx.logger.info({ slot: o.slot, consistentPoint: formatLsn(c) }, 'created replication slot');
    await o.created(c);
    if (!created.snapshotName) return c;
    // The exported snapshot lives while `repl` stays open and idle: read everything now.
    const reader = await connectPostgres(o.url, { application: `tributary-cdc-snapshot-${o.slot}` });
    try {
      const tables: SnapshotTable[] = [];
      for (const name of o.tables.map((t) => splitTable(t).name)) tables.push({ name, key: await tableKey(reader, name) });
      ctx.logger.info({ slot: o.slot, tables: o.tables, snapshot: created.snapshotName }, 'initial snapshot started');
      const rows = await publishSnapshot(ctx, reader, created.snapshotName, tables, { ...o, positionLsn: c, lsn: c });
      ctx.logger.info({ slot: o.slot, rows, tables: o.tables }, 'initial snapshot published');
    } finally {
      await reader.end().catch(() => undefined);
    }
    return c;
  } finally {
    await repl.end().catch(() => undefined);
  }
}

/** Where a cut-short snapshot stands in JetStream: its newest stored record. */
export interface SnapshotFrontier {
  table: string;
  /** Chunk index of the newest stored message. */
  chunk: number;
  /** `_seq` of its last record. */
  seq: number;
  /** The last record, for its key. */
  record: Record<string, unknown>;
}

/**
 * The newest stored record of the snapshot of the slot at `consistentPoint`, or undefined when no
 * chunk of it was stored (the newest message is from before the slot, or there is none).
 */
export async function snapshotFrontier(ctx: PullContext, consistentPoint: bigint): Promise<SnapshotFrontier | undefined> {
  const last = await ctx.lastPublished();
  if (!last) return undefined;
  const prefix = `${ctx.pipeline.name}/${ctx.source}:snap:${lsnHex(consistentPoint)}:`;
  if (!last.id.startsWith(prefix)) return undefined;
  // `<table>:<chunk>`, then `:<part>` when the chunk was split into several messages.
  const rest = last.part ? last.id.slice(prefix.length, last.id.lastIndexOf(':')) : last.id.slice(prefix.length);
  const m = /^(.+):(\d+)$/.exec(rest);
  const record = last.records[last.records.length - 1];
  if (!m || !record) return undefined;
  return { table: m[1]!, chunk: Number(m[2]), seq: Number(record._seq), record };
}

/**
 * Resumes the initial snapshot of the slot at `consistentPoint` after a crash: reads what JetStream
 * does not have yet in a catch-up snapshot and publishes it. `commit` gets the cut-offs (the old
 * ones that still matter and the new ones) before anything is published; returns them.
 */
export async function resumeSnapshot(
  ctx: PullContext,
  o: SnapshotOptions & { consistentPoint: bigint; cutoffs: SnapshotCutoff[]; commit(cutoffs: SnapshotCutoff[]): Promise<void> },
): Promise<SnapshotCutoff[]> {
  const names = o.tables.map((t) => splitTable(t).name);
  const frontier = await snapshotFrontier(ctx, o.consistentPoint);
  const snap = await takeCatchUpSnapshot(o.url, o.slot);
  try {
    const reader = await connectPostgres(o.url, { application: `tributary-cdc-snapshot-${o.slot}` });
    try {
      const keys = new Map<string, KeyColumn[] | undefined>();
      for (const name of names) keys.set(name, await tableKey(reader, name));
      let from = frontier ? names.indexOf(frontier.table) : 0;
      if (frontier && from < 0) {
        ctx.logger.warn(
          { slot: o.slot, table: frontier.table },
          'the interrupted snapshot stopped in a table no longer captured: reading every table again (rows already published are published again)',
        );
        from = 0;
      }
      const tables: SnapshotTable[] = [];
      let after: string[] | undefined;
      if (frontier && from >= 0 && names[from] === frontier.table) {
        const key = keys.get(frontier.table);
        after = key ? keyOf(frontier.record, key) : undefined;
        if (!after) {
          ctx.logger.warn(
            { slot: o.slot, table: frontier.table },
            'table without a usable primary key: its interrupted snapshot is read again whole (rows already published are published again)',
          );
        }
        tables.push({
          name: frontier.table,
          key: after ? key : undefined,
          after,
          chunk: frontier.chunk + 1,
          offset: after ? frontier.seq + 1 : 0,
        });
        from++;
      }
      for (const name of names.slice(from)) tables.push({ name, key: keys.get(name) });
      // Cut-offs of tables read completely before stay; the re-read ranges get the new snapshot's LSN.
      const rereadWhole = new Set(tables.filter((t) => !t.after).map((t) => t.name));
      const cutoffs = [
        ...o.cutoffs.filter((c) => !rereadWhole.has(c.table)),
        ...tables.map((t) => ({
          table: t.name,
          key: t.key ?? [],
          ...(t.after ? { after: t.after } : {}),
          lsn: formatLsn(snap.lsn),
        })),
      ];
      await o.commit(cutoffs);
      ctx.logger.info(
        {
          slot: o.slot,
          table: frontier?.table ?? null,
          after: after ?? null,
          chunk: frontier ? frontier.chunk + 1 : 0,
          snapshotLsn: formatLsn(snap.lsn),
          tables: tables.map((t) => t.name),
        },
        frontier ? 'initial snapshot resumed' : 'initial snapshot restarted (nothing of it was stored)',
      );
      const rows = await publishSnapshot(ctx, reader, snap.snapshotName, tables, { ...o, positionLsn: o.consistentPoint, lsn: snap.lsn });
      ctx.logger.info({ slot: o.slot, rows, tables: o.tables }, 'initial snapshot published');
      return cutoffs;
    } finally {
      await reader.end().catch(() => undefined);
    }
  } finally {
    await snap.close();
  }
}

/**
 * Reads `tables` in `snapshotName` and publishes them in order, `SNAPSHOT_INFLIGHT` chunks at a
 * time (publishes go out in call order, so JetStream stores a prefix of them whatever stops us);
 * returns the rows published. Records carry `lsn` (the snapshot's); positions carry `positionLsn`
 * (the slot's consistent point, the same for every run of this snapshot).
 */
async function publishSnapshot(
  ctx: PullContext,
  reader: Awaited<ReturnType<typeof connectPostgres>>,
  snapshotName: string,
  tables: SnapshotTable[],
  o: { chunkRows: number; positionLsn: bigint; lsn: bigint },
): Promise<number> {
  const hex = lsnHex(o.positionLsn);
  const inflight: Promise<unknown>[] = [];
  let rows = 0;
  try {
    for await (const chunk of readSnapshot(reader, snapshotName, tables, o.chunkRows, { lsn: formatLsn(o.lsn) })) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const position = `snap:${hex}:${chunk.table}:${chunk.chunk}`;
      if (chunk.lines) {
        // Every record of the chunk has the same `_commit_at`: its source time, given once.
        const at = toSourceTime(chunk.at);
        inflight.push(ctx.publish(new JsonLines(chunk.lines), position, at ? { at } : COMMIT_TIME));
        rows += chunk.lines.length;
      } else {
        const records = snapshotRecords(chunk.rows ?? [], chunk.table, o.lsn, chunk.at, chunk.offset);
        inflight.push(ctx.publish(records, position, COMMIT_TIME));
        rows += records.length;
      }
      if (inflight.length >= SNAPSHOT_INFLIGHT) await inflight.shift();
    }
    await Promise.all(inflight.splice(0));
  } finally {
    // Settle stragglers before closing, so no publish outlives the run unobserved.
    await Promise.allSettled(inflight);
  }
  return rows;
}

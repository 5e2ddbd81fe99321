/**
 * `postgres_cdc` source: inserts, updates and deletes of chosen tables from a logical
 * replication slot (`pgoutput`), after an initial snapshot consistent with the slot's start.
 *
 * Runs continuously (no schedule) on the replica holding the source's lease. Its cursor in
 * `trib_cursors` holds the slot's phase, the last change JetStream acknowledged and the range of
 * a batch being published (see ChangeBatcher); PostgreSQL hears about a position only after
 * JetStream acknowledged everything before it, so a crash anywhere replays from the slot and
 * republishes with the same message IDs. A crash during the initial snapshot resumes it on the
 * same slot from the last chunk JetStream stored (`pg/initial-snapshot.ts`).
 */
import { cdcSlotName, postgresCdcSourceSpec } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { pullSource, type PullContext } from './pull-source';
import { slotLagGauge } from './pg/cdc-metrics';
import { streamChanges } from './pg/cdc-stream';
import { cutoffsUntil, type SnapshotCutoff } from './pg/catch-up-snapshot';
import { createSlotWithSnapshot, resumeSnapshot } from './pg/initial-snapshot';
import { formatLsn, formatPos, parseLsn, parsePos } from './pg/lsn';
import { checkPostgresConnection, connectPostgres, postgresUrl } from './pg/pg-connection';
import { ensurePublication, slotInfo } from './pg/replication-setup';
import { Resnapshots } from './pg/resnapshot';

/** Config shape of the postgres_cdc source (from the core spec). */
export const spec = postgresCdcSourceSpec;

/** What the source keeps in its cursor. */
interface CdcCursor {
  slot: string;
  /**
   * `snapshot`: the slot is being created (no `consistentPoint` yet) or its initial snapshot read;
   * a crash then resumes the snapshot on the same slot. `streaming` after.
   */
  phase: 'snapshot' | 'streaming';
  consistentPoint?: string;
  /** Last change JetStream acknowledged (`formatPos`). */
  acked?: string;
  /** A batch range committed before its publish (`formatPos` from/to). */
  pending?: { from: string; to: string };
  /**
   * Ranges a resumed snapshot read in a later snapshot than the slot's: the stream drops changes
   * to them committed before that snapshot. Kept until the acknowledged position passes them.
   */
  cutoffs?: SnapshotCutoff[];
}

/** Creates the source: checks its connection, touches no network. */
export const create = pullSource<typeof spec>((config, deps) => {
  checkPostgresConnection(deps.pipeline, deps.name, config.connection);
  const slot = cdcSlotName(deps.pipeline.name, deps.name, config.slot);
  const publication = config.publication ?? slot;

  /** Makes sure a slot exists that this source may stream from; returns the cursor to resume from. */
  async function prepare(ctx: PullContext, url: string): Promise<CdcCursor> {
    const admin = await connectPostgres(url, { application: `tributary-cdc-setup-${slot}` });
    try {
      await ensurePublication(admin, { publication, tables: config.tables, create: config.create_publication, logger: ctx.logger });
      let cursor = await ctx.cursors.get<CdcCursor>();
      const info = await slotInfo(admin, slot);
      if (info && info.plugin !== 'pgoutput') {
        throw new TributaryError('TRIB_E_CONFIG', `replication slot "${slot}" uses plugin ${info.plugin}, not pgoutput`);
      }
      if (info?.activePid) {
        // Another replica still streams (its lease expired but its connection lives), or the
        // server has not yet noticed a killed process: retry later.
        throw new TributaryError('TRIB_E_UNAVAILABLE', `replication slot "${slot}" is in use by backend ${info.activePid}`);
      }
      if (info && (cursor?.slot !== slot || !cursor)) {
        // A slot made outside Tributary (or by an older config): stream from where it stands.
        ctx.logger.warn({ slot }, 'adopting an existing replication slot without an initial snapshot');
        cursor = { slot, phase: 'streaming', consistentPoint: info.confirmedFlush ? formatLsn(info.confirmedFlush) : undefined };
        await ctx.cursors.commit(cursor);
        return cursor;
      }
      if (info && cursor?.phase === 'streaming') return cursor;
      const tables = config.tables;
      if (info) {
        // The slot exists but its snapshot was cut short (or its end not yet committed): resume on
        // it. Nothing streamed from it yet, so its confirmed position is still its consistent point.
        const consistentPoint = cursor?.consistentPoint ? parseLsn(cursor.consistentPoint) : info.confirmedFlush;
        if (consistentPoint === null) throw new TributaryError('TRIB_E_INTERNAL', `replication slot "${slot}" has no confirmed position`);
        const base = { slot, phase: 'snapshot' as const, consistentPoint: formatLsn(consistentPoint) };
        let cutoffs = cursor?.cutoffs ?? [];
        if (config.snapshot === 'initial') {
          cutoffs = await resumeSnapshot(ctx, {
            url,
            slot,
            tables,
            chunkRows: config.batch_records,
            consistentPoint,
            cutoffs,
            commit: (c) => ctx.cursors.commit({ ...base, cutoffs: c } satisfies CdcCursor),
          });
        }
        cursor = { ...base, phase: 'streaming', ...(cutoffs.length > 0 ? { cutoffs } : {}) };
        await ctx.cursors.commit(cursor);
        return cursor;
      }
      if (cursor?.phase === 'streaming') {
        ctx.logger.error(
          { slot },
          'replication slot is gone (dropped outside Tributary?): creating it again with a new snapshot; changes in between are lost',
        );
      }
      // Committed before the slot exists: a crash before the slot is made just makes it next time.
      await ctx.cursors.commit({ slot, phase: 'snapshot' } satisfies CdcCursor);
      const lsn = await createSlotWithSnapshot(ctx, {
        url,
        slot,
        tables,
        snapshot: config.snapshot === 'initial',
        chunkRows: config.batch_records,
        // Before anything is published: a resume reads the snapshot's identity from here.
        created: (c) => ctx.cursors.commit({ slot, phase: 'snapshot', consistentPoint: formatLsn(c) } satisfies CdcCursor),
      });
      cursor = { slot, phase: 'streaming', consistentPoint: formatLsn(lsn) };
      await ctx.cursors.commit(cursor);
      return cursor;
    } finally {
      await admin.end().catch(() => undefined);
    }
  }

  return {
    async run(ctx) {
      const url = postgresUrl(deps.pipeline, deps.name, config.connection);
      let cursor = await prepare(ctx, url);
      if (ctx.signal.aborted) return;
      await streamChanges({
        ctx,
        url,
        slot,
        publication,
        batchRecords: config.batch_records,
        flushIntervalMs: config.flush_interval,
        heartbeatMs: config.heartbeat,
        resume: {
          acked: cursor.acked ? parsePos(cursor.acked) : undefined,
          pending: cursor.pending ? { from: parsePos(cursor.pending.from), to: parsePos(cursor.pending.to) } : undefined,
        },
        confirmed: cursor.consistentPoint ? parseLsn(cursor.consistentPoint) : 0n,
        lag: slotLagGauge(ctx.metrics),
        cutoffs: cursor.cutoffs,
        resnapshots: new Resnapshots(ctx, { url, slot, tables: config.tables, chunkRows: config.batch_records }),
        save: async (state) => {
          // Cut-offs matter only for changes committed before their snapshots: once acknowledged past them, they go.
          const until = cutoffsUntil(cursor.cutoffs);
          const passed = until !== undefined && state.acked !== undefined && state.acked.lsn >= until;
          cursor = {
            ...(passed ? { slot: cursor.slot, phase: cursor.phase, consistentPoint: cursor.consistentPoint } : cursor),
            acked: state.acked ? formatPos(state.acked) : undefined,
            pending: state.pending ? { from: formatPos(state.pending.from), to: formatPos(state.pending.to) } : undefined,
          };
          await ctx.cursors.commit(cursor);
        },
      });
    },
  };
});

/**
 * The streaming phase of `postgres_cdc`: reads the slot, publishes changes in batches, and
 * reports to PostgreSQL only what JetStream acknowledged. Also writes heartbeats and measures the
 * slot's lag.
 */
import type { Client } from 'pg';
import type { Gauge } from 'prom-client';
import { TributaryError } from '@tributary/contract/errors';
import { PeriodicTask } from '@tributary/runtime/periodic-task';
import type { PullContext } from '../pull-source';
import { ChangeBatcher, type BatcherResume } from './change-batcher';
import { changeRecord, COMMIT_TIME, isoMicros, type ChangeOp, type TxnInfo } from './cdc-records';
import { formatLsn, formatPos, parseLsn, type ChangePos } from './lsn';
import { connectPostgres } from './pg-connection';
import { ReplicationStream, type ReplicationEvent } from './replication-stream';
import { slotLagBytes } from './replication-setup';
import { askServer, CutoffFilter, type SnapshotCutoff } from './catch-up-snapshot';

/** Prefix of the logical messages written as heartbeats. */
export const HEARTBEAT_PREFIX = 'tributary.heartbeat';

/** Everything the streaming phase needs. */
export interface CdcStreamOptions {
  ctx: PullContext;
  url: string;
  slot: string;
  publication: string;
  batchRecords: number;
  flushIntervalMs: number;
  heartbeatMs: number;
  resume: BatcherResume;
  /** The slot's confirmed flush position when the run started. */
  confirmed: bigint;
  /** Persists the batcher's position (the `acked` change and the `pending` batch range). */
  save(state: BatcherResume): Promise<void>;
  lag: Gauge<'pipeline' | 'source' | 'slot'>;
  /** Ranges a resumed snapshot read after the slot's start (`catch-up-snapshot.ts`): their earlier changes are dropped. */
  cutoffs?: SnapshotCutoff[];
  /**
   * Resnapshot requests (`resnapshot.ts`): `poll` runs between source transactions at most every
   * `everyMs` (it may publish the buffered batch through `flush` and then re-read a table), and
   * `skips` drops a change the re-read holds.
   */
  resnapshots?: {
    everyMs: number;
    poll(admin: Client, flush: () => Promise<void>): Promise<void>;
    skips(table: string, op: ChangeOp, lsn: bigint, row: Record<string, unknown>): boolean;
  };
}

const TIMEOUT = Symbol('timeout');

/** Resolves with `p`'s result, or TIMEOUT after `ms` (leaving `p` to be awaited later). */
function within<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<typeof TIMEOUT>((resolve) => (timer = setTimeout(() => resolve(TIMEOUT), Math.max(0, ms))));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Ends a client, forcing its socket closed when a graceful end does not finish quickly (a
 * walsender connection in the middle of COPY BOTH may never answer the terminate message).
 */
async function endClient(client: Client): Promise<void> {
  const ended = client.end().then(
    () => true,
    () => true,
  );
  if ((await within(ended, 2000)) === TIMEOUT)
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
}

/** Streams changes until `ctx.signal` aborts (resolves) or the connection fails (throws). */
export async function streamChanges(o: CdcStreamOptions): Promise<void> {
  const { ctx } = o;
  const repl = await connectPostgres(o.url, { replication: true, application: `tributary-cdc-${o.slot}` });
  const admin = await connectPostgres(o.url, { application: `tributary-cdc-heartbeat-${o.slot}` }).catch(async (err: unknown) => {
    await endClient(repl);
    throw err;
  });
  const serverVersion = Number((await admin.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]?.v ?? 0);
  // Logical messages in pgoutput need PostgreSQL 14; before that, keepalives alone move an idle slot.
  let emitHeartbeats = serverVersion >= 140_000;
  const stream = ReplicationStream.start(repl, { slot: o.slot, publication: o.publication, startLsn: 0n, messages: emitHeartbeats });
  const batcher = new ChangeBatcher<Record<string, unknown>>(o.resume, o.batchRecords, o.confirmed);
  const onAbort = (): void => stream.destroy();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  // An abort while connecting fired before the listener existed: honour it now.
  if (ctx.signal.aborted) stream.destroy();

  // Standby status updates on a timer, independent of the read loop: while a publish waits on
  // JetStream the loop reads nothing, and the server must still hear from us (wal_sender_timeout).
  const status = new PeriodicTask({
    intervalMs: Math.min(o.heartbeatMs, 10_000),
    run: async () => stream.acknowledge(batcher.flushLsn),
    onError: (err) => ctx.logger.warn({ err: (err as Error).message }, 'standby status update failed'),
  });
  const heartbeat = async (): Promise<void> => {
    try {
      // A WAL record in this database: decoding passes it, and when nothing of ours is in
      // flight its LSN is reported, so the slot keeps up even when our tables are idle.
      if (emitHeartbeats) {
        await admin
          .query('SELECT pg_logical_emit_message(false, $1::text, $2::text)', [HEARTBEAT_PREFIX, new Date().toISOString()])
          .catch((err) => {
            emitHeartbeats = false;
            ctx.logger.warn({ err: (err as Error).message }, 'cannot write heartbeats (pg_logical_emit_message); relying on keepalives');
          });
      }
      const lag = await slotLagBytes(admin, o.slot);
      if (lag !== undefined) o.lag.set({ pipeline: ctx.pipeline.name, source: ctx.source, slot: o.slot }, lag);
    } catch (err) {
      ctx.logger.warn({ err: (err as Error).message }, 'heartbeat failed');
    }
  };
  // One heartbeat at a time: the next starts an interval after the last ended.
  const beat = new PeriodicTask({ intervalMs: o.heartbeatMs, run: heartbeat, onError: () => undefined });
  status.start();
  beat.start();

  const flush = async (): Promise<void> => {
    const batch = batcher.take();
    if (!batch) return;
    await o.save({ acked: batcher.ackedPos, pending: { from: batch.from, to: batch.to } });
    await ctx.publish(batch.records, `cdc:${formatPos(batch.from)}-${formatPos(batch.to)}`, COMMIT_TIME);
    batcher.published(batch.to);
    await o.save({ acked: batch.to });
    stream.acknowledge(batcher.flushLsn);
    ctx.healthy();
  };

  const cutoff = o.cutoffs && o.cutoffs.length > 0 ? new CutoffFilter(o.cutoffs, askServer(admin)) : undefined;
  // `kept`: changes of the transaction up to its last one published (or to be), for `committed`
  // (changes dropped by a cut-off or skipped for a resnapshot are not waited for).
  let txn: (TxnInfo & { seq: number; kept: number }) | undefined;
  const cutLogged = new Set<bigint>();
  const handle = async (ev: ReplicationEvent): Promise<void> => {
    if (ev.type === 'keepalive') {
      if (!txn) batcher.idleAt(ev.walEnd);
      if (ev.replyRequested) stream.acknowledge(batcher.flushLsn);
      return;
    }
    const m = ev.message;
    switch (m.tag) {
      case 'begin':
        txn = { lsn: parseLsn(m.commitLsn!), commitAt: isoMicros(m.commitTime as bigint), seq: 0, kept: 0 };
        return;
      case 'insert':
      case 'update':
      case 'delete': {
        if (!txn) throw new TributaryError('TRIB_E_INTERNAL', `postgres_cdc: ${m.tag} outside a transaction`);
        const pos: ChangePos = { lsn: txn.lsn, seq: txn.seq++ };
        if (batcher.isPublished(pos)) {
          txn.kept = txn.seq;
          return; // replayed after a restart: JetStream has it
        }
        let record: Record<string, unknown> | undefined = changeRecord(m, txn, pos.seq);
        // A resumed snapshot read this row after the change: it is published already (positions stay as they are).
        if (cutoff && txn.lsn < cutoff.until && !(record = await cutoff.apply(record, txn.lsn))) return;
        if (record && o.resnapshots?.skips(record._table as string, record._op as ChangeOp, txn.lsn, record)) return;
        txn.kept = txn.seq;
        if (batcher.mustFlushBefore(pos)) await flush();
        batcher.add(pos, record);
        if (batcher.full) {
          // Only an oversized transaction (or a batch rebuilt after a crash) is cut inside a transaction.
          if (batcher.oversized && !cutLogged.has(txn.lsn)) {
            cutLogged.add(txn.lsn);
            ctx.logger.warn(
              { pipeline: ctx.pipeline.name, source: ctx.source, lsn: formatLsn(txn.lsn), records: batcher.maxTxnRecords },
              'source transaction larger than the batch limit: published in several batches, visible in several commits',
            );
          }
          await flush();
        }
        return;
      }
      case 'commit':
        if (txn) batcher.committed(txn.lsn, txn.kept, parseLsn(m.commitEndLsn!));
        txn = undefined;
        // Batches end at transaction ends (docs/design.md, Source transactions).
        if (batcher.full) await flush();
        return;
      case 'message':
        if (!m.transactional && m.prefix === HEARTBEAT_PREFIX && !txn && m.messageLsn) {
          batcher.idleAt(parseLsn(m.messageLsn));
          // Our own heartbeat came back through the slot with nothing waiting to be published.
          if (batcher.size === 0) ctx.healthy();
        }
        return;
      case 'truncate':
        // Rows removed by TRUNCATE are not replicated one by one: say so where people look.
        for (const rel of m.relations) {
          const table = `${rel.schema}.${rel.name}`;
          await ctx.deadLetter(
            {
              record: { _table: table, _op: 'truncate', _lsn: txn ? formatLsn(txn.lsn) : null },
              code: 'TRIB_E_VALIDATION',
              message: `TRUNCATE of ${table} is not replicated as records; reload the table if its rows matter downstream`,
            },
            `cdc:truncate:${txn ? formatLsn(txn.lsn) : ev.walStart.toString(16)}:${table}`,
          );
        }
        return;
      default:
        return; // relation, type and origin messages only feed the parser
    }
  };

  const it = stream[Symbol.asyncIterator]();
  let next = it.next();
  let pollAt = 0;
  // Between source transactions, with nothing buffered that may not be published now (an
  // interrupted batch being rebuilt keeps its range): a resnapshot may run.
  const mayPoll = (): boolean => o.resnapshots !== undefined && !txn && (batcher.size === 0 || batcher.dueAt(0) !== undefined);
  try {
    for (;;) {
      if (mayPoll() && Date.now() >= pollAt) {
        await o.resnapshots!.poll(admin, flush);
        pollAt = Date.now() + o.resnapshots!.everyMs;
      }
      const dueAt = batcher.dueAt(o.flushIntervalMs);
      const wakeAt = mayPoll() ? Math.min(dueAt ?? Infinity, pollAt) : dueAt;
      const r = wakeAt === undefined ? await next : await within(next, wakeAt - Date.now());
      if (r === TIMEOUT) {
        if (dueAt !== undefined && Date.now() >= dueAt) await flush();
        continue;
      }
      if (r.done) break;
      next = it.next();
      await handle(r.value);
    }
  } catch (err) {
    if (!ctx.signal.aborted)
      throw new TributaryError('TRIB_E_UNAVAILABLE', `postgres_cdc replication stream failed: ${(err as Error).message}`, { cause: err });
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    // No timer fires from here on; a heartbeat in flight fails with its connection, ended below.
    const stopped = Promise.all([status.stop(), beat.stop()]);
    stream.destroy();
    next.catch(() => undefined); // the read in flight fails with the destroyed stream
    await endClient(repl);
    await endClient(admin);
    await stopped;
  }
  if (!ctx.signal.aborted) throw new TributaryError('TRIB_E_UNAVAILABLE', 'postgres_cdc: the server ended the replication stream');
}

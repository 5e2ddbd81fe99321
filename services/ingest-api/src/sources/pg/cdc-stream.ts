/**
 * The streaming phase of `postgres_cdc`: reads the slot, publishes changes in batches, and
 * reports to PostgreSQL only what JetStream acknowledged. Also writes heartbeats and measures the
 * slot's lag.
 */
import type { Client } from 'pg';
import type { Pgoutput } from 'pg-logical-replication';
import type { Gauge } from 'prom-client';
import { TributaryError } from '@tributary/contract/errors';
import { PeriodicTask } from '@tributary/runtime/periodic-task';
import type { PullContext } from '../pull-source';
import { ChangeBatcher, type BatcherResume, type ChangeBatch } from './change-batcher';
import { changeRecord, COMMIT_TIME, isoMicros, type ChangeOp, type TxnInfo } from './cdc-records';
import { formatLsn, formatPos, parseLsn, type ChangePos } from './lsn';
import { connectPostgres } from './pg-connection';
import { ReplicationStream, type ReplicationEvent, type RowChange } from './replication-stream';
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
const FAILED = Symbol('failed');

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

  // Batches are published one after the other while the loop reads on, so the next batches fill
  // during the round trips of this one (they were the stream's pauses: reading stopped for three
  // of them per batch). Each batch still goes through the same steps in the same order: its range
  // committed, the publish acknowledged, its end committed, and only then the position reported to
  // PostgreSQL; a batch waiting its turn has committed nothing, so a restart rebuilds it freely.
  // At most `maxQueued` batches wait (memory), then reading waits for the oldest.
  const maxQueued = Math.max(1, Math.min(4, Math.floor(20_000 / o.batchRecords)));
  const queued: Promise<void>[] = [];
  let last: Promise<void> = Promise.resolve();
  // A failed publish stops the loop, also while it waits on the slot (`interrupt` ends that wait).
  // Not a promise raced on every wait: one that never settles keeps every race's result alive.
  let failure: { err: unknown } | undefined;
  let interrupt: (() => void) | undefined;
  const broke = (err: unknown): void => {
    failure ??= { err };
    interrupt?.();
  };
  const publish = async (batch: ChangeBatch<Record<string, unknown>>): Promise<void> => {
    await o.save({ acked: batcher.ackedPos, pending: { from: batch.from, to: batch.to } });
    await ctx.publish(batch.records, `cdc:${formatPos(batch.from)}-${formatPos(batch.to)}`, COMMIT_TIME);
    batcher.published(batch.to);
    await o.save({ acked: batch.to });
    stream.acknowledge(batcher.flushLsn);
    ctx.healthy();
  };
  /** Queues the buffered changes for publishing, after the batches before them (resolves once queued). */
  const flush = async (): Promise<void> => {
    while (queued.length >= maxQueued) await queued[0];
    const batch = batcher.take();
    if (!batch) return;
    // After a failure nothing more is published: the chain stays rejected.
    const p = last.then(() => publish(batch));
    last = p;
    queued.push(p);
    p.then(() => void queued.shift(), broke);
  };
  /** Publishes the buffered changes and waits until everything queued is acknowledged. */
  const drain = async (): Promise<void> => {
    await flush();
    await last;
  };

  const cutoff = o.cutoffs && o.cutoffs.length > 0 ? new CutoffFilter(o.cutoffs, askServer(admin)) : undefined;
  // `kept`: changes of the transaction up to its last one published (or to be), for `committed`
  // (changes dropped by a cut-off or skipped for a resnapshot are not waited for).
  let txn: (TxnInfo & { seq: number; kept: number }) | undefined;
  const cutLogged = new Set<bigint>();
  // The handlers answer synchronously unless they must wait (a flush, a cut-off's question to the
  // server): most changes then cost no promise.
  const add = (pos: ChangePos, record: Record<string, unknown>): Promise<void> | undefined => {
    batcher.add(pos, record);
    if (!batcher.full) return undefined;
    // Only an oversized transaction (or a batch rebuilt after a crash) is cut inside a transaction.
    if (batcher.oversized && !cutLogged.has(pos.lsn)) {
      cutLogged.add(pos.lsn);
      ctx.logger.warn(
        { pipeline: ctx.pipeline.name, source: ctx.source, lsn: formatLsn(pos.lsn), records: batcher.maxTxnRecords },
        'source transaction larger than the batch limit: published in several batches, visible in several commits',
      );
    }
    return flush();
  };
  const keep = (pos: ChangePos, record: Record<string, unknown>): Promise<void> | undefined => {
    if (o.resnapshots?.skips(record._table as string, record._op as ChangeOp, pos.lsn, record)) return undefined;
    txn!.kept = pos.seq + 1;
    if (batcher.mustFlushBefore(pos)) return flush().then(() => add(pos, record));
    return add(pos, record);
  };
  const change = (c: RowChange): Promise<void> | undefined => {
    if (!txn) throw new TributaryError('TRIB_E_INTERNAL', `postgres_cdc: ${c.tag} outside a transaction`);
    const pos: ChangePos = { lsn: txn.lsn, seq: txn.seq++ };
    if (batcher.isPublished(pos)) {
      txn.kept = txn.seq;
      return undefined; // replayed after a restart: JetStream has it
    }
    const record = changeRecord(c, txn, pos.seq);
    // A resumed snapshot read this row after the change: it is published already (positions stay as they are).
    if (cutoff && txn.lsn < cutoff.until) return cutoff.apply(record, txn.lsn).then((r) => (r ? keep(pos, r) : undefined));
    return keep(pos, record);
  };
  const handle = (ev: ReplicationEvent): Promise<void> | undefined => {
    switch (ev.type) {
      case 'keepalive':
        if (!txn) batcher.idleAt(ev.walEnd);
        if (ev.replyRequested) stream.acknowledge(batcher.flushLsn);
        return undefined;
      case 'begin':
        txn = { lsn: ev.commitLsn, lsnText: formatLsn(ev.commitLsn), commitAt: isoMicros(ev.commitTime), seq: 0, kept: 0 };
        return undefined;
      case 'row':
        return change(ev.change);
      case 'commit':
        if (txn) batcher.committed(txn.lsn, txn.kept, ev.commitEndLsn);
        txn = undefined;
        // Batches end at transaction ends (docs/design.md, Source transactions).
        return batcher.full ? flush() : undefined;
      case 'change':
        return other(ev.walStart, ev.message);
    }
  };
  const other = async (walStart: bigint, m: Pgoutput.Message): Promise<void> => {
    switch (m.tag) {
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
            `cdc:truncate:${txn ? formatLsn(txn.lsn) : walStart.toString(16)}:${table}`,
          );
        }
        return;
      default:
        return; // relation, type and origin messages only feed the decoder
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
        await o.resnapshots!.poll(admin, drain);
        pollAt = Date.now() + o.resnapshots!.everyMs;
      }
      const dueAt = batcher.dueAt(o.flushIntervalMs);
      const wakeAt = mayPoll() ? Math.min(dueAt ?? Infinity, pollAt) : dueAt;
      if (failure) throw failure.err;
      const read = Promise.race([next, new Promise<typeof FAILED>((resolve) => (interrupt = () => resolve(FAILED)))]);
      const r = wakeAt === undefined ? await read : await within(read, wakeAt - Date.now());
      interrupt = undefined;
      if (r === FAILED) throw failure!.err;
      if (r === TIMEOUT) {
        if (dueAt !== undefined && Date.now() >= dueAt) await flush();
        continue;
      }
      if (r.done) break;
      next = it.next();
      for (const ev of r.value) {
        const wait = handle(ev);
        if (wait) await wait;
      }
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
    // Batches in flight finish their steps (or fail) before the run ends, as when the loop awaited them.
    await last.catch(() => undefined);
    await endClient(repl);
    await endClient(admin);
    await stopped;
  }
  if (!ctx.signal.aborted) throw new TributaryError('TRIB_E_UNAVAILABLE', 'postgres_cdc: the server ended the replication stream');
}

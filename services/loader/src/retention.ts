/**
 * Partition maintenance in the loader, once at start and every `RETENTION_INTERVAL`: premakes the
 * future partitions of every partitioned table and, for tables with a `retention`, archives then
 * drops each partition entirely older than now minus the retention, and archives then deletes the
 * DEFAULT partition's rows that old (late rows whose partition was already dropped land there).
 * Nothing is dropped that was not written out first, unless the spec says `retention_archive: false`.
 *
 * One loader replica runs a round at a time (a session advisory lock; the others skip the round).
 * A partition is archived under a SHARE lock (late loads into it wait, reads go on), then detached
 * and dropped in the same transaction; every drop or failure is a row in `tributary.retention_runs`
 * and a count in `tributary_retention_partitions_total` / `tributary_retention_rows_total`.
 */
import { createHash } from 'node:crypto';
import {
  beforeSql,
  defaultPartitionName,
  ensurePartitions,
  expired,
  intervalStart,
  isoDay,
  listPartitions,
  nextStart,
  partitionLayout,
  partitionProblems,
  partitionStartOf,
  premakeStarts,
  type PartitionLayout,
} from '@tributary/warehouse/partitions';
import { guardClient } from '@tributary/warehouse/guard-client';
import { warehouseTable } from '@tributary/warehouse/sql';
import { PeriodicTask } from '@tributary/runtime/periodic-task';
import { type Logger } from '@tributary/runtime/logger';
import type { Pipeline, Table } from '@tributary/contract/spec';
import type { Pool, PoolClient } from 'pg';
import { Counter, type Registry } from 'prom-client';
import { archiveRows, type ArchivePartition, type ArchiveTarget } from './table-archive';

/** Prometheus instruments of retention (one set per registry). */
export function retentionMetrics(registry: Registry) {
  return {
    partitions: new Counter({
      name: 'tributary_retention_partitions_total',
      help: 'Partitions retention dropped (archived first unless retention_archive is false), or failed to drop.',
      labelNames: ['pipeline', 'table', 'outcome'],
      registers: [registry],
    }),
    rows: new Counter({
      name: 'tributary_retention_rows_total',
      help: 'Rows retention removed from the warehouse (dropped partitions and expired DEFAULT rows), by whether they were archived first.',
      labelNames: ['pipeline', 'table', 'disposition'],
      registers: [registry],
    }),
  };
}

/** What a round did to one partition. */
export interface RetentionAction {
  pipeline: string;
  table: string;
  partition: string;
  /** `premade`: created ahead of time; `dropped`: a whole partition; `swept`: expired rows of DEFAULT. */
  action: 'premade' | 'dropped' | 'swept';
  status: 'ok' | 'error';
  rows?: number;
  archive?: string;
  error?: string;
}

/** How retention runs. */
export interface RetentionOptions {
  intervalMs: number;
  /** Where rows go before they are dropped. */
  archive: ArchivePartition;
  metrics: ReturnType<typeof retentionMetrics>;
  logger: Logger;
  /** The clock (tests move it forward). */
  now?: () => number;
}

const RUNNER_LOCK = createHash('sha256').update('tributary.retention').digest().readInt32BE(0);

/** Runs partition maintenance and retention for the partitioned tables of some pipelines. */
export class RetentionScheduler {
  private readonly task: PeriodicTask;
  private readonly tables: { pipeline: Pipeline; table: Table; layout: PartitionLayout }[];
  private readonly now: () => number;

  constructor(
    private readonly pool: Pool,
    pipelines: readonly Pipeline[],
    private readonly opts: RetentionOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.tables = pipelines.flatMap((pipeline) =>
      pipeline.tables.flatMap((table) => {
        const layout = partitionLayout(pipeline, table);
        return layout ? [{ pipeline, table, layout }] : [];
      }),
    );
    // A round now, then one interval after each ends (rounds never overlap); the timer does not
    // keep the process alive.
    this.task = new PeriodicTask({
      intervalMs: opts.intervalMs,
      runAtStart: true,
      unref: true,
      run: () => this.runOnce(),
      onError: (err) => opts.logger.error({ err }, 'retention round failed'),
    });
  }

  /** Whether any table is partitioned. */
  get active(): boolean {
    return this.tables.length > 0;
  }

  /** Runs a round now, then every interval; rounds never overlap. */
  start(): void {
    if (this.active) this.task.start();
  }

  /** Stops scheduling and waits for the round in progress. */
  async stop(): Promise<void> {
    await this.task.stop();
  }

  /** One round over every partitioned table; empty when another replica holds the round. */
  async runOnce(): Promise<RetentionAction[]> {
    if (!this.active) return [];
    const lock = guardClient(await this.pool.connect());
    try {
      const got = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, 0) AS ok', [RUNNER_LOCK]);
      if (!got.rows[0]?.ok) return [];
      try {
        const out: RetentionAction[] = [];
        for (const t of this.tables) out.push(...(await this.maintain(t.pipeline, t.table, t.layout)));
        return out;
      } finally {
        await lock.query('SELECT pg_advisory_unlock($1, 0)', [RUNNER_LOCK]);
      }
    } finally {
      lock.release();
    }
  }

  private async maintain(pipeline: Pipeline, table: Table, layout: PartitionLayout): Promise<RetentionAction[]> {
    const ref = { pipeline: pipeline.name, table: table.name };
    const problems = await partitionProblems(this.pool, pipeline, table);
    if (problems.length > 0) {
      this.opts.logger.error(
        { ...ref, problems, code: 'TRIB_E_SCHEMA_INCOMPATIBLE' },
        'retention skips a table whose partitioning does not match the spec',
      );
      return [];
    }
    const now = this.now();
    const out: RetentionAction[] = [];
    try {
      for (const p of await ensurePartitions(this.pool, table, layout, premakeStarts(layout, now)))
        out.push({ ...ref, partition: p.name, action: 'premade', status: 'ok', rows: p.moved });
    } catch (err) {
      // A loader role that may not create partitions: the owner's migrate premakes them instead.
      this.opts.logger.warn({ ...ref, err }, 'could not premake partitions');
    }
    if (layout.retentionMs === undefined) return out;
    for (const name of await listPartitions(this.pool, table.name)) {
      const start = partitionStartOf(table.name, name);
      if (start && expired(layout, start, now)) out.push(await this.drop(pipeline, table, layout, name, start));
    }
    const swept = await this.sweepDefault(pipeline, table, layout, intervalStart(now - layout.retentionMs, layout.interval));
    if (swept) out.push(swept);
    return out;
  }

  /** Archives, detaches and drops one expired partition, in one transaction. */
  private drop(pipeline: Pipeline, table: Table, layout: PartitionLayout, name: string, start: Date): Promise<RetentionAction> {
    const end = nextStart(start, layout.interval);
    return this.inTransaction(pipeline, table, name, 'dropped', [start, end], async (c) => {
      const part = warehouseTable(name);
      // Late loads into this partition wait until it is gone (then their rows go to DEFAULT).
      await c.query(`LOCK TABLE ${part} IN SHARE MODE`);
      const { rows, location } = await this.writeOut(c, pipeline, table, layout, name, part, undefined);
      await c.query(`ALTER TABLE ${warehouseTable(table.name)} DETACH PARTITION ${part}`);
      await c.query(`DROP TABLE ${part}`);
      return { rows, location };
    });
  }

  /** Archives and deletes the DEFAULT partition's rows before `bound` (the first interval still kept). */
  private async sweepDefault(pipeline: Pipeline, table: Table, layout: PartitionLayout, bound: Date): Promise<RetentionAction | undefined> {
    const name = defaultPartitionName(table.name);
    const def = warehouseTable(name);
    const where = beforeSql(layout, bound);
    const expiredRows = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${def} WHERE ${where}`);
    if (!expiredRows.rows[0]?.n) return undefined;
    return this.inTransaction(pipeline, table, name, 'swept', [undefined, bound], async (c) => {
      await c.query(`LOCK TABLE ${def} IN SHARE MODE`);
      const { rows, location } = await this.writeOut(c, pipeline, table, layout, name, def, where);
      await c.query(`DELETE FROM ${def} WHERE ${where}`);
      return { rows, location };
    });
  }

  /** Archives the rows (or, without archiving, counts them). */
  private async writeOut(
    c: PoolClient,
    pipeline: Pipeline,
    table: Table,
    layout: PartitionLayout,
    partition: string,
    relation: string,
    where: string | undefined,
  ): Promise<{ rows: number; location?: string }> {
    if (!layout.archive) {
      const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${relation}${where ? ` WHERE ${where}` : ''}`);
      return { rows: r.rows[0]!.n };
    }
    // Earlier archives of this partition name keep their files: this one gets the next key.
    const before = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tributary.retention_runs
       WHERE pipeline = $1 AND table_name = $2 AND partition_name = $3 AND status = 'ok' AND archive IS NOT NULL`,
      [pipeline.name, table.name, partition],
    );
    const n = before.rows[0]!.n;
    const target: ArchiveTarget = { pipeline: pipeline.name, table: table.name, partition, key: n > 0 ? `${partition}.${n}` : partition };
    return archiveRows(c, relation, where, target, this.opts.archive);
  }

  /** Runs one retention step in a transaction and records it (a failure too, outside it). */
  private async inTransaction(
    pipeline: Pipeline,
    table: Table,
    partition: string,
    action: 'dropped' | 'swept',
    range: [Date | undefined, Date],
    fn: (c: PoolClient) => Promise<{ rows: number; location?: string }>,
  ): Promise<RetentionAction> {
    const startedAt = new Date(this.now());
    const labels = { pipeline: pipeline.name, table: table.name };
    const record = (db: Pool | PoolClient, status: string, rows: number | null, archive: string | null, error: string | null) =>
      db.query(
        `INSERT INTO tributary.retention_runs (pipeline, table_name, partition_name, action, status, range_start, range_end, rows, archive, error, started_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          pipeline.name,
          table.name,
          partition,
          action,
          status,
          range[0] ? isoDay(range[0]) : null,
          isoDay(range[1]),
          rows,
          archive,
          error,
          startedAt,
        ],
      );
    const c = guardClient(await this.pool.connect());
    let failed: Error | undefined;
    try {
      await c.query('BEGIN');
      // Never queue behind a long reader for ever: give up and try again next round.
      await c.query(`SET LOCAL lock_timeout = '60s'`);
      const { rows, location } = await fn(c);
      await record(c, 'ok', rows, location ?? null, null);
      await c.query('COMMIT');
      if (action === 'dropped') this.opts.metrics.partitions.inc({ ...labels, outcome: 'dropped' });
      this.opts.metrics.rows.inc({ ...labels, disposition: location ? 'archived' : 'discarded' }, rows);
      this.opts.logger.info({ ...labels, partition, action, rows, archive: location }, 'retention removed rows');
      return { ...labels, partition, action, status: 'ok', rows, ...(location ? { archive: location } : {}) };
    } catch (err) {
      failed = err as Error;
      await c.query('ROLLBACK').catch(() => undefined);
      const message = (err as Error).message;
      this.opts.logger.error(
        { ...labels, partition, action, err },
        'retention step failed; nothing was dropped, the next round tries again',
      );
      if (action === 'dropped') this.opts.metrics.partitions.inc({ ...labels, outcome: 'failed' });
      await record(this.pool, 'error', null, null, message).catch(() => undefined);
      return { ...labels, partition, action, status: 'error', error: message };
    } finally {
      // A failed step may have left the session broken (dead connection, open cursor): do not pool it.
      c.release(failed);
    }
  }
}

/**
 * Decides when windows are final and publishes them. Finality is decided where the merged rows
 * live, in the aggregate table, so it is exact whichever replica or redelivery produced them:
 *
 * - watermark = the newest `max_event_time` loaded into the table minus the window's
 *   `allowed_lateness` (records not loaded yet cannot advance it);
 * - every row whose window ends at or before the watermark and is not yet `final` is read
 *   `FOR UPDATE SKIP LOCKED`, published on `trib.events.<pipeline>.<emit>` (when `emit` is set),
 *   and marked `final` in the same transaction, after the PubAcks;
 * - the loader's merge takes the same row lock, so a record is either in the published final row
 *   or merged afterwards and counted in `late_records`: for every table,
 *   `sum(record_count) = sum(record_count in final events) + sum(late_records)` plus rows not final yet.
 *
 * A crash between PubAck and commit publishes the row again on the next run under the same
 * message ID (`final:<table>:<window start>:<key>`), which JetStream drops inside its duplicate
 * window. Several replicas may run this at once: locked rows are skipped, final rows are not
 * selected again, so each row is published by one of them.
 */
import { createHash } from 'node:crypto';
import { guardClient } from '@tributary/warehouse/guard-client';
import { ident, warehouseTable } from '@tributary/warehouse/sql';
import { H, makeHeaders, subjects } from '@tributary/contract/wire';
import { inPostgres, WINDOW_COLUMNS, windowOf, type Dataset, type Pipeline, type WindowConfig } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { type Rec } from '@tributary/contract/codec';
import { PeriodicTask } from '@tributary/runtime/periodic-task';
import { type Logger } from '@tributary/runtime/logger';
import { type Publisher } from '@tributary/runtime/nats';
import type { Pool } from 'pg';

/** Rows finalized per table and run; the rest wait for the next run. */
const MAX_ROWS = 5_000;

interface Target {
  table: string;
  dataset: Dataset;
  window: WindowConfig;
  key: string[];
}

/** Finalizes the windows of one pipeline's aggregate tables. */
export class WindowFinalizer {
  private readonly targets: Target[];
  private readonly task: PeriodicTask;

  constructor(private readonly opts: { pool: Pool; publisher: Publisher; pipeline: Pipeline; logger: Logger; intervalMs: number }) {
    this.targets = opts.pipeline.tables.flatMap((t) => {
      const dataset = opts.pipeline.datasets.find((d) => d.name === t.from);
      const window = dataset && windowOf(dataset);
      // Windows are finalized in PostgreSQL only (a ClickHouse aggregate table has no `final`).
      return t.mode === 'aggregate' && inPostgres(t) && dataset && window && t.key ? [{ table: t.name, dataset, window, key: t.key }] : [];
    });
    this.task = new PeriodicTask({
      intervalMs: opts.intervalMs,
      run: () => this.runOnce(),
      onError: (err) => opts.logger.warn({ err }, 'window finalization failed; retrying'),
    });
  }

  /** Whether the pipeline has aggregate tables to finalize. */
  get active(): boolean {
    return this.targets.length > 0;
  }

  /** Runs every `intervalMs` until stopped; failures are logged and retried on the next run. */
  start(): void {
    if (this.active) this.task.start();
  }

  /** Stops after the run in progress. */
  async stop(): Promise<void> {
    await this.task.stop();
  }

  /** Finalizes what the watermarks allow now; returns the rows finalized per table. */
  async runOnce(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of this.targets) out[t.table] = await this.finalize(t);
    return out;
  }

  private async finalize(t: Target): Promise<number> {
    const target = warehouseTable(t.table);
    const q = ident;
    const client = guardClient(
      await this.opts.pool.connect().catch((err: unknown) => {
        throw new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', `window finalizer: ${(err as Error).message}`, { cause: err });
      }),
    );
    try {
      await client.query('BEGIN');
      // The newest event time sits in a window with the newest start (both index-backed).
      const wmRow = await client.query<{ t: Date | null }>(
        `SELECT max(${q(WINDOW_COLUMNS.maxEventTime)}) AS t FROM ${target}
         WHERE ${q(WINDOW_COLUMNS.start)} = (SELECT max(${q(WINDOW_COLUMNS.start)}) FROM ${target})`,
      );
      const newest = wmRow.rows[0]?.t;
      if (!newest) {
        await client.query('COMMIT');
        return 0;
      }
      const watermark = new Date(newest.getTime() - t.window.allowed_lateness);
      const rows = await client.query<Rec & { _row: string }>(
        `SELECT ctid::text AS _row, * FROM ${target}
         WHERE NOT ${q(WINDOW_COLUMNS.final)} AND ${q(WINDOW_COLUMNS.end)} <= $1
         ORDER BY ${t.key.map(q).join(', ')} LIMIT ${MAX_ROWS} FOR UPDATE SKIP LOCKED`,
        [watermark],
      );
      if (rows.rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      if (t.window.emit) {
        const subject = subjects.events(this.opts.pipeline.name, t.window.emit);
        const settled = await Promise.allSettled(
          rows.rows.map((r) => {
            const event = this.event(t, r, watermark);
            const keyHash = createHash('sha256')
              .update(JSON.stringify(t.key.map((k) => event[k])))
              .digest('base64url')
              .slice(0, 22);
            return this.opts.publisher.publish(subject, Buffer.from(JSON.stringify(event)), {
              msgId: `final:${t.table}:${keyHash}`,
              headers: makeHeaders({ [H.pipeline]: this.opts.pipeline.name, [H.name]: t.window.emit, [H.table]: t.table, [H.count]: 1 }),
            });
          }),
        );
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
      }
      await client.query(`UPDATE ${target} SET ${q(WINDOW_COLUMNS.final)} = true WHERE ctid = ANY($1::tid[])`, [
        rows.rows.map((r) => r._row),
      ]);
      await client.query('COMMIT');
      return rows.rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** A final row as an event: declared columns with their types (bigint arrives as text), plus the watermark. */
  private event(t: Target, row: Rec, watermark: Date): Rec {
    const out: Rec = {};
    for (const f of t.dataset.fields) {
      if (f.name === WINDOW_COLUMNS.final || f.name === WINDOW_COLUMNS.late) continue;
      const v = row[f.name];
      out[f.name] = v === null || v === undefined ? null : f.type === 'integer' ? Number(v) : v instanceof Date ? v.toISOString() : v;
    }
    out.watermark = watermark.toISOString();
    return out;
  }
}

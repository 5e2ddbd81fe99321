/**
 * `tributary sources resnapshot`: a running `postgres_cdc` source reads one table (or the rows a
 * predicate selects) again, so rows loaded before an `on_drift: evolve` column existed get its
 * values (docs/transforms.md, "Rows loaded before the column existed").
 *
 * The request is the cursor sub-key `resnapshot` (`SourceResnapshot` in `@tributary/runtime`).
 * The stream loop (`cdc-stream.ts`) calls `poll` between source transactions every few seconds;
 * a request found there is served in the loop itself, so the stream waits while it runs:
 *
 * 1. the changes buffered so far are published (they are older than the re-read);
 * 2. a snapshot is taken at a known LSN C (`takeCatchUpSnapshot`, `catch-up-snapshot.ts`: a
 *    TEMPORARY replication slot with EXPORT_SNAPSHOT, gone when its session ends);
 * 3. the rows are read in that snapshot and published like snapshot rows (`_op: read`, `_lsn` C),
 *    under message IDs `resnap:<request>:<C>:<chunk>`;
 * 4. until the source's own slot has confirmed a position past C, inserts and updates of the table
 *    committed before C are skipped (`skips`): the re-read holds their result, and published after
 *    it they would bring older rows back. With a predicate only the re-read rows' keys are skipped
 *    (a change that moved a row out of the range still goes through). Deletes always go through:
 *    a row deleted before C is not in the re-read.
 *
 * The skip differs from the initial snapshot's cut-off (`CutoffFilter`) in one way: the rows were
 * published before, so a delete committed before C must still go through.
 *
 * So the re-read lands before every later change of the same rows, and an `upsert` table with a
 * `position` keeps the newer row even when loads commit out of order. A crash before step 4 ended
 * leaves the request `running`; the next run reads it again at a new LSN (the rows load again
 * under new IDs, and the upsert finds them unchanged), so it completes exactly once in effect.
 */
import type { Client } from 'pg';
import { resnapshotTargets } from '@tributary/contract/spec';
import { RESNAPSHOT_SUB, type SourceResnapshot } from '@tributary/runtime/nats';
import type { PullContext } from '../pull-source';
import { COMMIT_TIME, snapshotRecords, type ChangeOp } from './cdc-records';
import { takeCatchUpSnapshot } from './catch-up-snapshot';
import { formatLsn } from './lsn';
import { connectPostgres, splitTable } from './pg-connection';
import { isoTimestamp } from './pg-values';
import { slotInfo } from './replication-setup';
import { keyOf, tableKey, type KeyColumn } from './table-key';

/** Chunks published at once (as the initial snapshot). */
const INFLIGHT = 4;
/** Attempts of one request before it is marked failed (a restart mid-read takes another). */
const MAX_ATTEMPTS = 3;

/** What a served request leaves behind until the stream has passed its LSN. */
interface SkipWindow {
  request: SourceResnapshot;
  table: string;
  lsn: bigint;
  /** Key columns and the keys re-read (a predicate's re-read); undefined: the whole table. */
  keys?: { columns: KeyColumn[]; seen: Set<string> };
  rows: number;
}

/** The key of a row as one string (`table-key.ts`: the same text for a change and a read of the row). */
function rowKey(row: Record<string, unknown>, columns: readonly KeyColumn[]): string | undefined {
  const k = keyOf(row, columns);
  return k && JSON.stringify(k);
}

/** A request this source cannot serve as written (reading it again would fail the same way). */
class RequestRefused extends Error {}

/**
 * Whether an error is the request's own: PostgreSQL refusing its predicate, table or columns
 * (SQLSTATE classes 42, syntax and access, and 22, data), or a refusal here. Anything else
 * (a connection lost) ends the run, and the request is read again on the next.
 */
function requestError(err: unknown): boolean {
  if (err instanceof RequestRefused) return true;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('42') || code.startsWith('22'));
}

/** Serves one `postgres_cdc` source's resnapshot requests. */
export class Resnapshots {
  /** How often the stream looks for a request (a KV read), between transactions. */
  readonly everyMs = 2000;
  private window: SkipWindow | undefined;

  constructor(
    private readonly ctx: PullContext,
    private readonly o: { url: string; slot: string; tables: readonly string[]; chunkRows: number },
  ) {}

  /** Whether a change must be skipped: an insert or update the served re-read already holds. */
  skips(table: string, op: ChangeOp, lsn: bigint, row: Record<string, unknown>): boolean {
    const w = this.window;
    if (!w || op === 'delete' || table !== w.table || lsn >= w.lsn) return false;
    if (!w.keys) return true;
    const key = rowKey(row, w.keys.columns);
    return key !== undefined && w.keys.seen.has(key);
  }

  /**
   * Called by the stream between source transactions: closes a served request once the slot
   * passed its LSN, or serves a new one (`flush` publishes the changes buffered before it).
   * Throws only on failures to retry (connections); a bad request is marked failed and streaming goes on.
   */
  async poll(admin: Client, flush: () => Promise<void>): Promise<void> {
    if (this.window) return this.closeWhenPassed(admin, this.window);
    const request = await this.ctx.cursors.get<SourceResnapshot>(RESNAPSHOT_SUB);
    if (!request || (request.state !== 'requested' && request.state !== 'running')) return;
    const attempts = (request.attempts ?? 0) + 1;
    const log = { pipeline: this.ctx.pipeline.name, source: this.ctx.source, table: request.table, where: request.where, id: request.id };
    const refusal = this.refusal(request);
    if (refusal || attempts > MAX_ATTEMPTS) {
      const error = refusal ?? `gave up after ${MAX_ATTEMPTS} attempts (the source restarted during each)`;
      this.ctx.logger.warn({ ...log, error }, 'resnapshot refused');
      await this.ctx.cursors.commit<SourceResnapshot>({ ...request, state: 'failed', error, finishedAt: Date.now() }, RESNAPSHOT_SUB);
      return;
    }
    const running: SourceResnapshot = { ...request, state: 'running', attempts, startedAt: Date.now() };
    delete running.lsn;
    delete running.rows;
    await this.ctx.cursors.commit(running, RESNAPSHOT_SUB);
    await flush();
    this.ctx.logger.info({ ...log, attempt: attempts }, 'resnapshot started');
    let window: SkipWindow;
    try {
      window = await this.read(running);
    } catch (err) {
      if (!requestError(err)) throw err;
      const error = `${(err as Error).message}`;
      this.ctx.logger.warn({ ...log, error }, 'resnapshot failed');
      await this.ctx.cursors.commit<SourceResnapshot>({ ...running, state: 'failed', error, finishedAt: Date.now() }, RESNAPSHOT_SUB);
      return;
    }
    this.window = window;
    await this.ctx.cursors.commit<SourceResnapshot>({ ...running, lsn: formatLsn(window.lsn), rows: window.rows }, RESNAPSHOT_SUB);
    this.ctx.logger.info(
      { ...log, rows: window.rows, lsn: formatLsn(window.lsn) },
      'resnapshot published; skipping its older changes until the slot passes its LSN',
    );
  }

  /** Why the source refuses `r` under the spec it runs (the CLI checked the same, maybe against another spec). */
  private refusal(r: SourceResnapshot): string | undefined {
    const table = splitTable(r.table).name;
    if (!this.o.tables.map((t) => splitTable(t).name).includes(table)) return `the source does not capture ${table}`;
    const refused = resnapshotTargets(this.ctx.pipeline, this.ctx.source, table).filter((t) => t.refused);
    if (refused.length > 0)
      return `pipeline "${this.ctx.pipeline.name}": ${refused.map((t) => `table "${t.table}" (dataset "${t.dataset}", ${t.mode}): ${t.refused}`).join('; ')}`;
    return undefined;
  }

  /** Marks the served request done once the source's slot confirmed a position at or past its LSN. */
  private async closeWhenPassed(admin: Client, w: SkipWindow): Promise<void> {
    const confirmed = (await slotInfo(admin, this.o.slot))?.confirmedFlush;
    if (confirmed === null || confirmed === undefined || confirmed < w.lsn) return;
    await this.ctx.cursors.commit<SourceResnapshot>(
      { ...w.request, state: 'done', lsn: formatLsn(w.lsn), rows: w.rows, finishedAt: Date.now() },
      RESNAPSHOT_SUB,
    );
    this.window = undefined;
    this.ctx.logger.info(
      { pipeline: this.ctx.pipeline.name, source: this.ctx.source, table: w.table, id: w.request.id, rows: w.rows, lsn: formatLsn(w.lsn) },
      'resnapshot finished',
    );
  }

  /** Steps 2 and 3: the snapshot at a known LSN, and the rows read in it and published. */
  private async read(r: SourceResnapshot): Promise<SkipWindow> {
    const t = splitTable(r.table);
    const snap = await takeCatchUpSnapshot(this.o.url, `${this.o.slot}_rs`);
    try {
      // The exported snapshot lives while its walsender session stays open and idle: read everything now.
      const reader = await connectPostgres(this.o.url, { application: `tributary-cdc-resnapshot-${this.o.slot}` });
      try {
        return await this.readRows(reader, snap.snapshotName, r, t, snap.lsn);
      } finally {
        await reader.end().catch(() => undefined);
      }
    } finally {
      await snap.close();
    }
  }

  private async readRows(
    reader: Client,
    snapshotName: string,
    r: SourceResnapshot,
    t: { sql: string; name: string; schema: string; table: string },
    lsn: bigint,
  ): Promise<SkipWindow> {
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const inflight: Promise<unknown>[] = [];
    try {
      await reader.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
      const at = isoTimestamp((await reader.query<{ now: string }>('SELECT now()::text AS now')).rows[0]!.now);
      let keys: SkipWindow['keys'];
      if (r.where) {
        const columns = await tableKey(reader, t.name);
        if (!columns)
          throw new RequestRefused(
            `${t.name} has no primary key of plain types: a resnapshot with --where needs one (re-read the whole table)`,
          );
        keys = { columns, seen: new Set() };
      }
      // The extended protocol (queryMode) takes one statement only: a predicate cannot end the
      // DECLARE and run another. The transaction is read-only besides. Hand-written rather than
      // snapshot-reader.ts's read, which takes whole tables (no predicate).
      const select = `SELECT * FROM ${t.sql}${r.where ? ` WHERE (${r.where})` : ''}`;
      await reader.query({ text: `DECLARE trib_resnapshot NO SCROLL CURSOR FOR ${select}`, queryMode: 'extended' } as never);
      const lsnHex = lsn.toString(16).toUpperCase().padStart(16, '0');
      let rows = 0;
      for (let chunk = 0; ; chunk++) {
        if (this.ctx.signal.aborted) throw this.ctx.signal.reason;
        const page = await reader.query<Record<string, unknown>>(`FETCH FORWARD ${this.o.chunkRows} FROM trib_resnapshot`);
        if (page.rows.length === 0) break;
        if (keys)
          for (const row of page.rows) {
            const key = rowKey(row, keys.columns);
            if (key !== undefined) keys.seen.add(key);
          }
        const records = snapshotRecords(page.rows, t.name, lsn, at, rows);
        inflight.push(this.ctx.publish(records, `resnap:${r.id}:${lsnHex}:${chunk}`, COMMIT_TIME));
        rows += records.length;
        if (inflight.length >= INFLIGHT) await inflight.shift();
        if (page.rows.length < this.o.chunkRows) break;
      }
      await Promise.all(inflight.splice(0));
      await reader.query('COMMIT');
      return { request: r, table: t.name, lsn, rows, ...(keys ? { keys } : {}) };
    } catch (err) {
      await Promise.allSettled(inflight);
      await reader.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}

/**
 * Time-partitioned warehouse tables (PostgreSQL declarative range partitioning): the layout a
 * table's `partition:` gives, partition names and bounds (UTC intervals), the parent's DDL, and
 * creating partitions, by `migrate` (premade ahead of time), by the loader before it merges rows
 * of an interval that has none yet, and by retention rounds. Creation is serialised per table by
 * an advisory lock, and rows that reached the DEFAULT partition before their partition existed are
 * moved into it in the same transaction, so creating a partition never fails on them.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { TributaryError } from '@tributary/contract/errors';
import { type Pipeline, type Table, type PartitionInterval } from '@tributary/contract/spec';
import { ident, WAREHOUSE_SCHEMA, warehouseTable } from './sql';

/** How a table is partitioned, resolved against its dataset. */
export interface PartitionLayout {
  column: string;
  /** Field type of the partition column. */
  type: 'timestamp' | 'date';
  interval: PartitionInterval;
  premake: number;
  /** Rows older than this (ms) are archived and dropped; unset: kept for ever. */
  retentionMs?: number;
  /** Whether retention writes rows out before dropping them. */
  archive: boolean;
}

const DAY_MS = 86_400_000;

/** The partition layout of `table`, or undefined when it is not partitioned. */
export function partitionLayout(pipeline: Pipeline, table: Table): PartitionLayout | undefined {
  const p = 'partition' in table ? table.partition : undefined;
  if (!p) return undefined;
  const field = pipeline.datasets.find((d) => d.name === table.from)?.fields.find((f) => f.name === p.by);
  if (!field || (field.type !== 'timestamp' && field.type !== 'date')) {
    // The spec check refuses this; reaching it means a hand-built Pipeline.
    throw new TributaryError(
      'TRIB_E_SPEC',
      `table ${table.name}: partition field ${p.by} is not a timestamp or date field of ${table.from}`,
    );
  }
  const retention = 'retention' in table ? table.retention : undefined;
  return {
    column: p.by,
    type: field.type,
    interval: p.interval,
    premake: p.premake,
    ...(retention !== undefined ? { retentionMs: retention } : {}),
    archive: ('retention_archive' in table ? table.retention_archive : undefined) ?? true,
  };
}

/** Start (UTC midnight) of the interval holding `ms`. */
export function intervalStart(ms: number, interval: PartitionInterval): Date {
  const d = new Date(Math.floor(ms / DAY_MS) * DAY_MS);
  if (interval === 'week') return new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY_MS);
  if (interval === 'month') return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
  return d;
}

/** Start of the interval after the one starting at `start`. */
export function nextStart(start: Date, interval: PartitionInterval): Date {
  if (interval === 'day') return new Date(start.getTime() + DAY_MS);
  if (interval === 'week') return new Date(start.getTime() + 7 * DAY_MS);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

/** `YYYY-MM-DD` of a UTC date. */
export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Parses `YYYY-MM-DD` (as the bucket query returns it) to a UTC date; undefined for anything else. */
export function parseIsoDay(text: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const d = new Date(`${text}T00:00:00Z`);
  return Number.isNaN(d.getTime()) || isoDay(d) !== text ? undefined : d;
}

/** Name of the partition starting at `start`: `<table>_pYYYYMMDD`. */
export function partitionName(table: string, start: Date): string {
  return `${table}_p${isoDay(start).replace(/-/g, '')}`;
}

/** Name of the DEFAULT partition. */
export function defaultPartitionName(table: string): string {
  return `${table}_default`;
}

/** The interval start a partition name encodes, or undefined when it is not one of `table`'s. */
export function partitionStartOf(table: string, name: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(name.startsWith(`${table}_p`) ? name.slice(table.length + 2) : '');
  return m ? parseIsoDay(`${m[1]}-${m[2]}-${m[3]}`) : undefined;
}

/** SQL literal of an interval boundary for the partition column's type. */
function boundLiteral(layout: PartitionLayout, d: Date): string {
  return layout.type === 'date' ? `'${isoDay(d)}'` : `'${isoDay(d)} 00:00:00+00'`;
}

/**
 * A query of the distinct interval starts (`b`, `YYYY-MM-DD` text, UTC) of the rows of `relation`
 * (quoted) that have a finite partition value: exactly how PostgreSQL will route them.
 */
export function bucketsSql(layout: PartitionLayout, relation: string): string {
  const col = ident(layout.column);
  const local = layout.type === 'date' ? `${col}::timestamp` : `(${col} AT TIME ZONE 'UTC')`;
  // DISTINCT before formatting: one to_char per interval instead of per row.
  return `SELECT to_char(b, 'YYYY-MM-DD') AS b FROM (SELECT DISTINCT date_trunc('${layout.interval}', ${local}) AS b
    FROM ${relation} WHERE ${col} IS NOT NULL AND isfinite(${col})) x`;
}

/** SQL predicate: the partition column of `alias` is before `d` (a boundary). */
export function beforeSql(layout: PartitionLayout, d: Date): string {
  return `${ident(layout.column)} < ${boundLiteral(layout, d)}`;
}

const MARKER = 'tributary:';

/** The table comment recording how a partitioned table was made (PostgreSQL keeps the column, not the interval). */
export function partitionMarker(layout: PartitionLayout): string {
  return `${MARKER}${JSON.stringify({ partition: { by: layout.column, interval: layout.interval } })}`;
}

/** The `PARTITION BY` clause of a partitioned table. */
export function partitionClause(layout: PartitionLayout): string {
  return ` PARTITION BY RANGE (${ident(layout.column)})`;
}

/** Statements run after CREATE TABLE of a partitioned parent (and on every migrate): marker and DEFAULT partition. */
export function partitionSetupDdl(table: Table, layout: PartitionLayout): string[] {
  return [
    `COMMENT ON TABLE ${warehouseTable(table.name)} IS '${partitionMarker(layout).replace(/'/g, "''")}'`,
    `CREATE TABLE IF NOT EXISTS ${warehouseTable(defaultPartitionName(table.name))} PARTITION OF ${warehouseTable(table.name)} DEFAULT`,
  ];
}

/** Interval starts of the current interval and the `premake` after it. */
export function premakeStarts(layout: PartitionLayout, now: number): Date[] {
  const out = [intervalStart(now, layout.interval)];
  for (let i = 0; i < layout.premake; i++) out.push(nextStart(out.at(-1)!, layout.interval));
  return out;
}

/** Whether the partition starting at `start` lies entirely before the retention cutoff at `now`. */
export function expired(layout: PartitionLayout, start: Date, now: number): boolean {
  return layout.retentionMs !== undefined && nextStart(start, layout.interval).getTime() <= now - layout.retentionMs;
}

/** Names of the partitions attached to `table` (DEFAULT included). */
export async function listPartitions(db: Pool | PoolClient, table: string): Promise<string[]> {
  const r = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass($1) ORDER BY 1`,
    [warehouseTable(table)],
  );
  return r.rows.map((x) => x.name);
}

const LOCK_CLASS = createHash('sha256').update('tributary.partitions').digest().readInt32BE(0);

/** SQL taking the transaction-level advisory lock that serialises partition changes of `$1` (a table name). */
export const PARTITION_LOCK_SQL = `SELECT pg_advisory_xact_lock(${LOCK_CLASS}, hashtext($1))`;

const isClient = (db: Pool | PoolClient): db is PoolClient => typeof (db as PoolClient).release === 'function';

/** Runs `fn` in a transaction: the caller's when given a client (it must have begun one), else a fresh one. */
async function inTransaction<T>(db: Pool | PoolClient, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  if (isClient(db)) return fn(db);
  const c = await db.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/** A partition `ensurePartitions` created, with the rows it moved out of DEFAULT. */
export interface CreatedPartition {
  name: string;
  moved: number;
}

/**
 * Makes sure the partitions starting at `starts` exist; returns those it created. With
 * a client, runs in its open transaction (the advisory lock and the new partitions are released and
 * published at its commit); with a pool, in a transaction of its own.
 */
export async function ensurePartitions(
  db: Pool | PoolClient,
  table: Table,
  layout: PartitionLayout,
  starts: readonly Date[],
): Promise<CreatedPartition[]> {
  const wanted = new Map(starts.map((s) => [partitionName(table.name, s), s]));
  if (wanted.size === 0) return [];
  // Cheap check first: loaders only take the lock when a partition is really missing.
  const have = new Set(await listPartitions(db, table.name));
  if ([...wanted.keys()].every((n) => have.has(n))) return [];
  return inTransaction(db, async (c) => {
    await c.query(PARTITION_LOCK_SQL, [table.name]);
    const now = new Set(await listPartitions(c, table.name));
    const created: CreatedPartition[] = [];
    for (const [name, start] of wanted)
      if (!now.has(name)) created.push({ name, moved: await createPartition(c, table, layout, name, start) });
    return created;
  });
}

/**
 * Creates one partition as a plain table, moves the rows of its interval out of DEFAULT into it,
 * and attaches it (ATTACH takes a lighter lock on the parent than CREATE ... PARTITION OF, and
 * would fail if DEFAULT still held rows of the interval). Returns the rows moved.
 */
async function createPartition(c: PoolClient, table: Table, layout: PartitionLayout, name: string, start: Date): Promise<number> {
  const parent = warehouseTable(table.name);
  const target = warehouseTable(name);
  const def = warehouseTable(defaultPartitionName(table.name));
  const [lo, hi] = [boundLiteral(layout, start), boundLiteral(layout, nextStart(start, layout.interval))];
  const cols = (
    await c.query<{ name: string }>(
      'SELECT attname AS name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
      [parent],
    )
  ).rows
    .map((r) => ident(r.name))
    .join(', ');
  await c.query(`CREATE TABLE ${target} (LIKE ${parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)`);
  // No one may add rows of this interval to DEFAULT between the move and the attach.
  await c.query(`LOCK TABLE ${def} IN SHARE ROW EXCLUSIVE MODE`);
  const col = ident(layout.column);
  const moved = await c.query(
    `WITH moved AS (DELETE FROM ${def} WHERE ${col} >= ${lo} AND ${col} < ${hi} RETURNING ${cols})
     INSERT INTO ${target} (${cols}) SELECT ${cols} FROM moved`,
  );
  await c.query(`ALTER TABLE ${parent} ATTACH PARTITION ${target} FOR VALUES FROM (${lo}) TO (${hi})`);
  return moved.rowCount ?? 0;
}

/**
 * Why the existing table's partitioning does not match the spec (empty when it does): partitioned
 * or not, by which column, at which interval. Changing any of them means re-creating the table.
 */
export async function partitionProblems(db: Pool | PoolClient, pipeline: Pipeline, table: Table): Promise<string[]> {
  const r = await db.query<{ relkind: string; comment: string | null; partcols: string[] | null }>(
    `SELECT c.relkind, obj_description(c.oid, 'pg_class') AS comment,
       (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_partitioned_table p
          JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = ANY(p.partattrs::int2[])
        WHERE p.partrelid = c.oid) AS partcols
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [WAREHOUSE_SCHEMA, table.name],
  );
  const row = r.rows[0];
  if (!row) return [];
  const layout = partitionLayout(pipeline, table);
  const where = `${table.name} is`;
  const fix = 're-create the table (rename it, run migrate, copy the rows back)';
  if (row.relkind !== 'p') {
    return layout ? [`${where} not partitioned in the warehouse but partitioned by ${layout.column} in ${pipeline.file}: ${fix}`] : [];
  }
  const have = (row.partcols ?? []).join(', ');
  if (!layout) return [`${where} partitioned by ${have} in the warehouse but not partitioned in ${pipeline.file}: ${fix}`];
  if (have !== layout.column)
    return [`${where} partitioned by ${have} in the warehouse but by ${layout.column} in ${pipeline.file}: ${fix}`];
  let recorded: string | undefined;
  try {
    recorded = (JSON.parse((row.comment ?? '').slice(MARKER.length)) as { partition?: { interval?: string } }).partition?.interval;
  } catch {
    recorded = undefined;
  }
  if (!row.comment?.startsWith(MARKER) || recorded === undefined) {
    return [`${where} partitioned by ${have} but its interval is unknown (its comment is not Tributary's): ${fix}`];
  }
  if (recorded !== layout.interval) {
    return [`${where} partitioned by ${recorded} in the warehouse but by ${layout.interval} in ${pipeline.file}: ${fix}`];
  }
  return [];
}

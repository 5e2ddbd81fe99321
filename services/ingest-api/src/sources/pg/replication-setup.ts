/**
 * The publication and replication slot of a `postgres_cdc` source: checked, created or extended,
 * and the slot's exported snapshot for the initial read.
 */
import { TributaryError } from '@tributary/contract/errors';
import type { Logger } from '@tributary/runtime/logger';
import type { Client } from 'pg';
import { parseLsn } from './lsn';
import { quoteIdent, splitTable } from './pg-connection';

/** A replication slot as pg_replication_slots shows it. */
export interface SlotInfo {
  plugin: string | null;
  database: string | null;
  /** Backend using the slot right now (another replica, or a connection not yet noticed dead). */
  activePid: number | null;
  confirmedFlush: bigint | null;
}

/**
 * Makes sure `publication` exists and covers `tables`: creates it or adds what is missing when
 * `create` is on, else fails naming what is missing. Tables must exist. Tables without a primary
 * key or replica identity are reported (their UPDATE and DELETE would fail on the source).
 */
export async function ensurePublication(
  client: Client,
  opts: { publication: string; tables: string[]; create: boolean; logger: Logger },
): Promise<void> {
  const wanted = opts.tables.map(splitTable);
  const found = await client.query<{ name: string; pk: boolean; ident: string }>(
    `SELECT n.nspname || '.' || c.relname AS name, c.relreplident AS ident,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = ANY($1)`,
    [wanted.map((t) => t.name)],
  );
  const exists = new Map(found.rows.map((r) => [r.name, r]));
  const absent = wanted.filter((t) => !exists.has(t.name)).map((t) => t.name);
  if (absent.length > 0) throw new TributaryError('TRIB_E_CONFIG', `postgres_cdc: tables not found: ${absent.join(', ')}`);
  for (const r of found.rows) {
    if (r.ident === 'n' || (r.ident === 'd' && !r.pk)) {
      opts.logger.warn(
        { table: r.name },
        'table has no primary key or replica identity: its updates and deletes fail while it is published',
      );
    }
  }

  const pub = await client.query<{ all: boolean }>('SELECT puballtables AS all FROM pg_publication WHERE pubname = $1', [opts.publication]);
  const list = wanted.map((t) => t.sql).join(', ');
  if (pub.rows.length === 0) {
    if (!opts.create) throw new TributaryError('TRIB_E_CONFIG', `postgres_cdc: publication "${opts.publication}" does not exist`);
    await client.query(`CREATE PUBLICATION ${quoteIdent(opts.publication)} FOR TABLE ${list}`).catch((err: { code?: string }) => {
      if (err.code !== '42710') throw err; // created concurrently: checked below like any existing one
    });
    opts.logger.info({ publication: opts.publication, tables: opts.tables }, 'created publication');
  }
  if (pub.rows[0]?.all) return;
  const covered = await client.query<{ name: string }>(
    `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = $1`,
    [opts.publication],
  );
  const have = new Set(covered.rows.map((r) => r.name));
  const missing = wanted.filter((t) => !have.has(t.name));
  if (missing.length === 0) return;
  if (!opts.create) {
    throw new TributaryError(
      'TRIB_E_CONFIG',
      `postgres_cdc: publication "${opts.publication}" lacks ${missing.map((t) => t.name).join(', ')} (create_publication is off)`,
    );
  }
  await client.query(`ALTER PUBLICATION ${quoteIdent(opts.publication)} ADD TABLE ${missing.map((t) => t.sql).join(', ')}`);
  opts.logger.info({ publication: opts.publication, added: missing.map((t) => t.name) }, 'added tables to publication');
}

/** The slot named `slot`, or undefined. */
export async function slotInfo(client: Client, slot: string): Promise<SlotInfo | undefined> {
  const r = await client.query<{ plugin: string | null; database: string | null; active_pid: number | null; confirmed: string | null }>(
    `SELECT plugin, database, active_pid, confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    plugin: row.plugin,
    database: row.database,
    activePid: row.active_pid,
    confirmedFlush: row.confirmed ? parseLsn(row.confirmed) : null,
  };
}

/** Result of creating a slot. */
export interface CreatedSlot {
  consistentPoint: bigint;
  /** Exported snapshot: valid while `replication` stays open and idle. */
  snapshotName: string | null;
}

/**
 * Creates a pgoutput slot on a walsender connection. With `exportSnapshot` the slot's starting
 * point comes with a snapshot of the database at exactly that point: reading the tables in it
 * and then streaming from the slot sees every row once, neither missed nor doubled.
 */
export async function createSlot(replication: Client, slot: string, exportSnapshot: boolean): Promise<CreatedSlot> {
  const r = await replication.query<{ consistent_point: string; snapshot_name: string | null }>(
    `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput ${exportSnapshot ? 'EXPORT_SNAPSHOT' : 'NOEXPORT_SNAPSHOT'}`,
  );
  const row = r.rows[0]!;
  return { consistentPoint: parseLsn(row.consistent_point), snapshotName: row.snapshot_name };
}

/** Bytes of WAL the server keeps for `slot` (current WAL position minus confirmed flush). */
export async function slotLagBytes(client: Client, slot: string): Promise<number | undefined> {
  const r = await client.query<{ lag: string | number | null }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) AS lag FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const lag = r.rows[0]?.lag;
  return lag === undefined || lag === null ? undefined : Number(lag);
}

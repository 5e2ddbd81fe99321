/**
 * `migrate`: creates everything the services need and may not create themselves: streams,
 * durable consumers, KV buckets, the database, bookkeeping tables, warehouse tables, and (with
 * `roles`) the least-privilege database roles.
 * Idempotent; run by `npm start` locally and by a Helm pre-install/pre-upgrade Job.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { Client, Pool } from 'pg';
import type { Logger } from 'pino';
import { TributaryError } from '@tributary/contract/errors';
import { type Pipeline } from '@tributary/contract/spec';
import { guardClient } from '@tributary/warehouse/guard-client';
import { BOOKKEEPING_DDL } from '@tributary/warehouse/bookkeeping';
import { ensureDatabaseRoles } from '@tributary/warehouse/database-roles';
import { ensureWarehouse } from '@tributary/warehouse/ensure-warehouse';
import {
  connectNats,
  type NatsAuth,
  archiverConsumers,
  ensureBuckets,
  ensureConsumers,
  ensureStreams,
  monitorConsumers,
  pipelineConsumers,
  type TopologyOptions,
  checkReplicasPossible,
  ensureReplicas,
  checkStorage,
  readServerStorage,
} from '@tributary/runtime/nats';
import { archiveOf } from '@tributary/archive';

/** Inputs of a migration. */
export interface MigrateOptions {
  natsUrl: string;
  /** NATS authentication and TLS. */
  natsAuth?: NatsAuth;
  databaseUrl: string;
  pipelines: Pipeline[];
  topology: TopologyOptions;
  logger: Logger;
  /**
   * Create the least-privilege group roles (`tributary_loader`, ...; needs CREATEROLE). Once they
   * exist, every migrate grants them what new tables need, with or without this flag.
   */
  roles?: boolean;
  /** Archive pipelines without an `archive:` section too (`ARCHIVE_ALL`): their archiver consumers are created. */
  archiveAll?: boolean;
  /** NATS monitoring endpoints (`NATS_MONITOR_URLS`): their /jsz gives each server's storage limit, checked first. */
  natsMonitorUrls?: string[];
}

/** Creates the database named in `url` when it does not exist (needs CREATEDB on the server). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const probe = new Client({ connectionString: url });
  try {
    await probe.connect();
    await probe.end();
    return false;
  } catch (err) {
    await probe.end().catch(() => undefined);
    if ((err as { code?: string }).code !== '3D000') {
      throw new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', `cannot connect to PostgreSQL: ${(err as Error).message}`, { cause: err });
    }
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  target.pathname = '/postgres';
  const admin = new Client({ connectionString: target.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') throw err; // created concurrently
  } finally {
    await admin.end();
  }
  return true;
}

/** Runs the migration; returns a line per action taken. */
export async function migrate(opts: MigrateOptions): Promise<string[]> {
  const actions: string[] = [];
  // NATS first: a topology the servers cannot hold (replicas, storage) fails before anything,
  // database included, is created.
  const nc = await connectNats(opts.natsUrl, 'tributary-migrate', opts.natsAuth);
  try {
    checkReplicasPossible(nc, opts.topology.replicas);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await checkStorage(jsm, opts.topology, await readServerStorage(opts.natsMonitorUrls ?? []));

    if (await ensureDatabase(opts.databaseUrl)) actions.push('created database');
    const pool = new Pool({ connectionString: opts.databaseUrl, max: 1 });
    // An idle connection the server closes (a restart, a failover) is no crash: the next query reconnects.
    pool.on('error', (err) => opts.logger.warn({ err }, 'migrate: PostgreSQL closed an idle connection'));
    try {
      const client = guardClient(await pool.connect());
      try {
        // Two migrations at once (e.g. two Helm hooks) would race on CREATE; serialise them.
        await client.query('SELECT pg_advisory_lock(hashtext($1))', ['tributary-migrate']);
        await client.query(BOOKKEEPING_DDL);
        for (const p of opts.pipelines) {
          const w = await ensureWarehouse(client, p);
          actions.push(...w.actions);
          // An incompatible change stops that table only: migrate goes on (a failing Helm hook would stop them all).
          for (const s of w.stopped) opts.logger.error({ pipeline: p.name, table: s.table, code: 'TRIB_E_SCHEMA_INCOMPATIBLE' }, s.message);
        }
        actions.push(...(await ensureDatabaseRoles(client, opts.pipelines, { create: opts.roles ?? false })));
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', ['tributary-migrate']);
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
    }

    await ensureStreams(jsm, opts.topology);
    await ensureConsumers(jsm, monitorConsumers(), opts.topology);
    for (const p of opts.pipelines) await ensureConsumers(jsm, pipelineConsumers(p), opts.topology);
    const archivers = opts.pipelines.flatMap((p) =>
      archiverConsumers(p, archiveOf(p, { ARCHIVE_ALL: opts.archiveAll ?? false })?.stages ?? []),
    );
    await ensureConsumers(jsm, archivers, opts.topology);
    await ensureBuckets(nc, opts.topology, opts.pipelines);
    actions.push(...(await ensureReplicas(jsm, opts.topology.replicas)));
    actions.push(`streams, ${opts.pipelines.length * 2 + 3 + archivers.length} consumers and KV buckets in place`);
  } finally {
    await nc.close();
  }
  for (const a of actions) opts.logger.info(`migrate: ${a}`);
  return actions;
}

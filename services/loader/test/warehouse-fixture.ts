/**
 * Shared set-up of the dimensional-loading tests: a private PostgreSQL with the bookkeeping schema
 * and the tables of a pipeline written inline, and helpers to load messages through BatchLoader.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BOOKKEEPING_DDL } from '@tributary/warehouse/bookkeeping';
import { ensureTable } from '@tributary/warehouse/table-ddl';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { PostgresServer } from '@tributary/testkit';
import { Pool } from 'pg';
import { BatchLoader, type LoadItem, type RejectedRow } from '../src/batch-loader';

/** A database with one pipeline's tables. */
export interface Warehouse {
  pg: PostgresServer;
  pool: Pool;
  pipeline: Pipeline;
}

/** Starts PostgreSQL, writes `yaml` as a pipeline file and creates its tables. */
export async function startWarehouse(yaml: string, pg?: PostgresServer): Promise<Warehouse> {
  const server = pg ?? (await PostgresServer.start());
  const db = `wh_${Math.random().toString(36).slice(2, 10)}`;
  const pool = new Pool({ connectionString: await server.createDatabase(db), max: 6 });
  // Idle connections are cut when the server stops at the end of the file; that is no test failure.
  pool.on('error', () => undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-wh-'));
  writeFileSync(path.join(dir, 'p.yaml'), yaml);
  const pipeline = loadPipelineFile(path.join(dir, 'p.yaml'));
  await pool.query(BOOKKEEPING_DDL);
  for (const t of pipeline.tables) await ensureTable(pool, pipeline, t);
  return { pg: server, pool, pipeline };
}

/** Fails the test when the loader dead-letters anything. */
export const noRejects = async (rows: RejectedRow[]): Promise<void> => {
  if (rows.length) throw new Error(`unexpected rejects: ${rows.map((r) => r.error.message).join('; ')}`);
};

let seq = 0;
/** A processed message of `dataset`. */
export function message(msgId: string, dataset: string, records: Record<string, unknown>[]): LoadItem {
  return { msgId, dataset, seq: ++seq, ingestedAt: Date.now(), records };
}

/** Loads `items` as one flush. */
export async function load(w: Warehouse, items: LoadItem[]): Promise<void> {
  await new BatchLoader(w.pool, w.pipeline).load(items, noRejects);
}

/** A timestamp `minutes` after 2024-01-01T00:00Z, as ISO text. */
export function at(minutes: number): string {
  return new Date(Date.UTC(2024, 0, 1) + minutes * 60_000).toISOString();
}

/** Epoch ms of a timestamptz value from pg (infinity as Infinity). */
export function ms(v: Date | string | number): number {
  if (v === 'infinity' || v === Infinity) return Infinity;
  if (v === '-infinity' || v === -Infinity) return -Infinity;
  return v instanceof Date ? v.getTime() : new Date(v).getTime();
}

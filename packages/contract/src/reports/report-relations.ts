/**
 * The warehouse relations a report may read, from the loaded pipelines: tables (in PostgreSQL),
 * generated dimensions and SQL models, each with its pipeline and the tables whose loads change it.
 */
import { inPostgres, type Pipeline } from '../spec/pipeline';
import type { KnownRelations } from './parse-report';
import { scanSql } from './sql-inputs';

/** A warehouse table a query reads, as the live feed names it. */
export interface WatchedTable {
  pipeline: string;
  table: string;
}

/** The relations of the loaded pipelines, each with its owner and the ledger tables that change it. */
export function knownRelations(pipelines: readonly Pipeline[]): KnownRelations & { feeds: Map<string, WatchedTable[]> } {
  const owners = new Map<string, string>();
  const feeds = new Map<string, WatchedTable[]>();
  for (const p of pipelines) {
    const tables = p.tables.filter(inPostgres).map((t) => ({ pipeline: p.name, table: t.name }));
    for (const t of tables) {
      owners.set(t.table, p.name);
      feeds.set(t.table, [t]);
    }
    // Models and generated dimensions have no loads of their own: any load of the pipeline may change them.
    for (const m of p.warehouse?.models ?? []) {
      owners.set(m.name, p.name);
      feeds.set(m.name, tables);
    }
    for (const d of Object.keys(p.warehouse?.dimensions ?? {})) {
      owners.set(d, p.name);
      feeds.set(d, []);
    }
  }
  return { owners, feeds, pipelines: new Set(pipelines.map((p) => p.name)) };
}

/** The tables whose loads may change a query's rows. */
export function watchedTables(sql: string, feeds: Map<string, WatchedTable[]>): WatchedTable[] {
  const out = new Map<string, WatchedTable>();
  for (const r of scanSql(sql).relations) for (const t of feeds.get(r.name) ?? []) out.set(`${t.pipeline}.${t.table}`, t);
  return [...out.values()];
}

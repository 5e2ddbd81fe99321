/**
 * Which warehouse tables a `tributary sources resnapshot` of one source table reaches, and whether
 * they may take it. The re-read rows are published on the source like snapshot rows (`_op: read`),
 * so every dataset of the source that keeps that table's rows, and every dataset reading those,
 * sees them again. A table may take them when loading a row twice changes nothing but the row:
 * `upsert` (the newest position, or the latest record, wins) and `append` with a `key` (a key it
 * has is skipped). It may not when the rows would count twice or make history: `append` without a
 * key (every row again), `scd2`, `accumulating`, `aggregate`, and tables outside PostgreSQL.
 *
 * Which datasets keep a table's rows is read from their `filter` steps: a filter that names
 * `_table` keeps the tables whose names it quotes (`_table = 'public.staff'`); a dataset with no
 * such filter on the way from the source keeps every table. The reading errs towards "keeps" (a
 * refusal the operator can read), never towards loading into a table that double-counts.
 */
import type { Dataset, Pipeline, Table } from './pipeline';
import { inPostgres } from './pipeline';

/** A table the re-read reaches, and why it refuses it (undefined: it takes it). */
export interface ResnapshotTarget {
  table: string;
  dataset: string;
  mode: string;
  refused?: string;
}

/** `schema.table` as the source names it: `public.` when no schema is written, folded to lower case as SQL folds unquoted names. */
export function sourceTableName(name: string): string {
  const lower = name.toLowerCase();
  return lower.includes('.') ? lower : `public.${lower}`;
}

/** The source tables a filter step keeps, from the literals it compares `_table` with; undefined: it does not say. */
function filterTables(expression: string): Set<string> | undefined {
  if (!expression.includes('_table')) return undefined;
  const out = new Set<string>();
  for (const m of expression.matchAll(/'([^']*)'|"([^"]*)"/g)) out.add(sourceTableName(m[1] ?? m[2]!));
  return out.size > 0 ? out : undefined;
}

/** Whether `ds`'s own steps let rows of `table` through (as far as its filters say). */
function keepsTable(ds: Dataset, table: string): boolean {
  for (const step of ds.steps) {
    if (step.kind !== 'filter' || typeof step.config !== 'string') continue;
    const tables = filterTables(step.config);
    if (tables && !tables.has(table)) return false;
  }
  return true;
}

/** Why a table may not take re-read rows, or undefined when it may. */
function refusal(t: Table): string | undefined {
  if (!inPostgres(t)) return 'it is not a PostgreSQL table (a re-read would load its rows again)';
  if (t.mode === 'upsert') return undefined;
  if (t.mode === 'append') {
    const key = (t as { key?: string[] }).key;
    return key && key.length > 0 ? undefined : 'append without a key would get every re-read row a second time';
  }
  return `${t.mode} would count the re-read rows as new events (re-read only into upsert tables)`;
}

/**
 * The tables a re-read of `sourceTable` (`schema.table`) from `source` reaches, each with its
 * refusal when it may not take it.
 */
export function resnapshotTargets(pipeline: Pipeline, source: string, sourceTable: string): ResnapshotTarget[] {
  const table = sourceTableName(sourceTable);
  const reached = new Set<string>();
  // Datasets are in dependency order: a dataset's inputs are decided before it.
  for (const ds of pipeline.datasets) {
    const fed = ds.from.some((f) => f === source || reached.has(f));
    if (fed && keepsTable(ds, table)) reached.add(ds.name);
  }
  return pipeline.tables
    .filter((t) => reached.has(t.from))
    .map((t) => {
      const why = refusal(t);
      return { table: t.name, dataset: t.from, mode: t.mode, ...(why ? { refused: why } : {}) };
    });
}

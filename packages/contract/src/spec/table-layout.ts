/**
 * The columns a warehouse table has beyond its dataset's fields, by load mode: surrogate keys and
 * validity columns of scd2 dimensions, the per-column event order of accumulating snapshots, and
 * the surrogate-key columns of dimension lookups. DDL, the loader and checks all read them here.
 */
import { TributaryError } from '../errors';
import type { FieldDef } from './common';
import type { Pipeline, Table } from './pipeline';

/** A table in a given mode. */
export type TableOf<M extends Table['mode']> = Extract<Table, { mode: M }>;

/** The surrogate key column of an scd2 table. */
export function surrogateKeyOf(table: TableOf<'scd2'>): string {
  return table.surrogate_key ?? `${table.name}_sk`;
}

/** How an scd2 table's fields split into key, tracked and untracked columns. */
export interface Scd2Layout {
  sk: string;
  key: string[];
  tracked: string[];
  untracked: string[];
  validFrom?: string;
  deletes?: { field: string; value: string | number | boolean; action: 'close' | 'ignore' };
}

/** The layout of an scd2 table over its dataset's fields. */
export function scd2Layout(table: TableOf<'scd2'>, fields: readonly FieldDef[]): Scd2Layout {
  const special = new Set([...table.key, ...(table.valid_from ? [table.valid_from] : []), ...(table.deletes ? [table.deletes.field] : [])]);
  const tracked = table.track ?? fields.map((f) => f.name).filter((n) => !special.has(n));
  const trackedSet = new Set(tracked);
  return {
    sk: surrogateKeyOf(table),
    key: [...table.key],
    tracked,
    untracked: fields.map((f) => f.name).filter((n) => !table.key.includes(n) && !trackedSet.has(n)),
    ...(table.valid_from ? { validFrom: table.valid_from } : {}),
    ...(table.deletes ? { deletes: table.deletes } : {}),
  };
}

/** A surrogate-key column of a fact, filled from a dimension at load. */
export interface LookupColumn {
  /** Column in the fact table. */
  column: string;
  dimension: TableOf<'scd2'>;
  /** Fact field -> dimension key column, in the dimension's key order. */
  on: { field: string; dimColumn: string }[];
  at?: string;
}

/** The lookup columns of a table (empty for modes without lookups). */
export function lookupColumns(pipeline: Pipeline, table: Table): LookupColumn[] {
  const lookups = 'lookups' in table ? table.lookups : undefined;
  if (!lookups) return [];
  return Object.entries(lookups).map(([column, l]) => {
    const dim = pipeline.tables.find((t) => t.name === l.dimension);
    if (!dim || dim.mode !== 'scd2') {
      throw new TributaryError(
        'TRIB_E_SPEC',
        `table ${table.name}: lookup ${column}: ${l.dimension} is not an scd2 table of ${pipeline.name}`,
      );
    }
    const byDim = new Map(Object.entries(l.on).map(([field, dimColumn]) => [dimColumn, field]));
    return {
      column,
      dimension: dim,
      on: dim.key.map((k) => ({ field: byDim.get(k) ?? k, dimColumn: k })),
      ...(l.at ? { at: l.at } : {}),
    };
  });
}

/**
 * `aggregate`: merges the partial aggregates of a `window` dataset into one row per (window, key).
 * Partials of one flush are first summed per key, then added to the stored row:
 * counts and sums add, min/max keep the extreme, an average is its merged sum over its merged
 * count, flags are re-evaluated on the merged values. Addition is commutative and associative, so
 * any batch split, any order and any number of transformer replicas give the same table; a
 * redelivered message never gets here twice (the ledger row written in the same transaction).
 * Rows already published as final (`final`, set by the transformer's window finalizer under a row
 * lock) still take late records, and count them in `late_records`.
 *
 * Counts (per partial): a (window, key) row the flush creates counts its first partial in stream
 * order `inserted` and the others `updated`; a partial merged into a stored row counts `updated`.
 * Every partial adds at least one record to `records`, so a merge always changes its row: nothing
 * is `unchanged` or skipped.
 */
import { ident } from '@tributary/warehouse/sql';
import { MODE_SPECS, WINDOW_COLUMNS, windowMergePlan, windowOf, type FlagTerm } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { insertedFlag } from '../sql/row-outcome';
import type { ModeFactory } from './mode';

/** Config shape (from the core spec). */
export const spec = MODE_SPECS.aggregate;

/** Creates the mode: the merge statement for one aggregate table. */
export const create: ModeFactory<typeof spec> = (table, { dataset, target, staging, partitioned = false }) => {
  const w = windowOf(dataset);
  if (!w || !table.key) {
    throw new TributaryError('TRIB_E_SPEC', `table ${table.name}: an aggregate table reads a dataset whose last step is a window`);
  }
  const key = table.key;
  const { merges, avgs } = windowMergePlan(w);
  const q = ident;
  const mergedSql = (col: string): string => {
    const avg = avgs.get(col);
    if (avg) return `(${mergedSql(avg.sum)} / NULLIF(${mergedSql(avg.count)}, 0))`;
    const m = merges.get(col)!;
    const [a, b] = [`t.${q(col)}`, `EXCLUDED.${q(col)}`];
    // NULL means "no value yet" (e.g. a sum over only null inputs): it must not wipe the other side.
    if (m === 'add') return `COALESCE(${a} + ${b}, ${a}, ${b})`;
    if (m === 'min') return `LEAST(${a}, ${b})`;
    if (m === 'max') return `GREATEST(${a}, ${b})`;
    return a;
  };
  const insertedSql = (col: string): string => {
    const avg = avgs.get(col);
    return avg ? `(s.${q(avg.sum)} / NULLIF(s.${q(avg.count)}, 0))` : `s.${q(col)}`;
  };
  const flagSql = (terms: FlagTerm[], value: (col: string) => string): string =>
    `(${terms.map((t) => `${value(t.column)} ${t.op === '!=' ? '<>' : t.op} ${t.value}`).join(' AND ')})`;

  // Per-flush pre-aggregation: several partials of one (window, key) in a flush become one row.
  const groupCols = key.map(q);
  const preAgg = [...merges.entries()].map(([col, m]) => {
    const fn = m === 'add' ? 'sum' : m === 'min' ? 'min' : 'max';
    return `${fn}(${q(col)}) AS ${q(col)}`;
  });
  const cols: string[] = [];
  const values: string[] = [];
  const updates: string[] = [];
  for (const f of dataset.fields) {
    cols.push(q(f.name));
    if (key.includes(f.name)) {
      values.push(`s.${q(f.name)}`);
    } else if (f.name in w.flags) {
      values.push(flagSql(w.flags[f.name]!, insertedSql));
      updates.push(`${q(f.name)} = ${flagSql(w.flags[f.name]!, mergedSql)}`);
    } else if (f.name === WINDOW_COLUMNS.late) {
      values.push('0');
      // Records merged into a row already published as final are late: counted, never lost.
      updates.push(
        `${q(f.name)} = t.${q(f.name)} + CASE WHEN t.${q(WINDOW_COLUMNS.final)} THEN EXCLUDED.${q(WINDOW_COLUMNS.records)} ELSE 0 END`,
      );
    } else if (f.name === WINDOW_COLUMNS.final) {
      values.push('false');
    } else {
      values.push(insertedSql(f.name));
      if (merges.get(f.name) !== 'keep') updates.push(`${q(f.name)} = ${mergedSql(f.name)}`);
    }
  }
  cols.push('"_msg_id"', '"_ingested_at"', '"_source_time"');
  values.push('s._msg_id', 's._ingested_at', 's._source_time');
  updates.push(
    '"_msg_id" = EXCLUDED."_msg_id"',
    '"_ingested_at" = LEAST(t."_ingested_at", EXCLUDED."_ingested_at")',
    // The oldest input wins (docs/design.md, Wire contract, Source time); LEAST skips NULLs.
    '"_source_time" = LEAST(t."_source_time", EXCLUDED."_source_time")',
    '"_loaded_at" = now()',
  );

  const flag = insertedFlag({ target, key: groupCols, source: 's', partitioned });
  const firstOfNew = 'up._ins AND st._ord = s._first_ord';

  return {
    mergeSql: `WITH s AS (
        SELECT ${groupCols.join(', ')}, ${preAgg.join(', ')}, max(_msg_id) AS _msg_id, min(_ingested_at) AS _ingested_at, min(_source_time) AS _source_time,
          min(_ord) AS _first_ord
        FROM ${staging} GROUP BY ${groupCols.join(', ')}
      ), ${flag.ctes} up AS (
        INSERT INTO ${target} AS t (${cols.join(', ')})
        SELECT ${values.join(', ')} FROM s
        ON CONFLICT (${groupCols.join(', ')}) DO UPDATE SET ${updates.join(', ')}
        RETURNING ${groupCols.map((c) => `t.${c}`).join(', ')}, ${flag.returning} AS _ins
      )
      SELECT st._msg_id, count(*) FILTER (WHERE ${firstOfNew})::int AS inserted,
        count(*) FILTER (WHERE up._ins IS NOT NULL AND NOT (${firstOfNew}))::int AS updated,
        count(*) FILTER (WHERE up._ins IS NULL)::int AS unchanged
      FROM ${staging} st JOIN s USING (${groupCols.join(', ')}) LEFT JOIN up USING (${groupCols.join(', ')}) GROUP BY st._msg_id`,
  };
};

/**
 * `accumulating`: one row per process instance (the key), whose columns fill in as events arrive.
 * Each column has a merge rule: `latest`/`earliest` keep the value of the newest/oldest event that
 * carried one (by `order_by`; the order of each stored value is kept in `_value_order`, so a late
 * event never overwrites a newer value), `min`/`max` keep the extreme (milestones), `sum` adds.
 * A NULL never overwrites. Every rule is commutative given `order_by`, so the row does not depend
 * on arrival order or batching; without `order_by` arrival order decides `latest`/`earliest`.
 * INSERT .. ON CONFLICT makes concurrent loaders wait for each other on a key, then merge.
 *
 * Counts (per record: a flush folds all records of a key into one write): a row the flush
 * creates counts one record `inserted` (its latest in stream order) and its other records
 * `updated`; the records of an existing row the merge changes count `updated`; those of a row it
 * leaves as it was (a repeat, or events older than the stored values) `unchanged`, and that row
 * is not rewritten. Nothing is skipped.
 */
import { datasetOf, MODE_SPECS, VALUE_ORDER_COLUMN, type Table } from '@tributary/contract/spec';
import { ident } from '@tributary/warehouse/sql';
import { insertedFlag } from '../sql/row-outcome';
import type { ModeFactory } from './mode';

/** Config shape (from the core spec). */
export const spec = MODE_SPECS.accumulating;

type Rule = 'latest' | 'earliest' | 'min' | 'max' | 'sum';

/** Creates the mode. */
export const create: ModeFactory<typeof spec> = (table, { dataset, target, staging, pipeline, extraColumns = [], partitioned = false }) => {
  const fields = (pipeline ? datasetOf(pipeline, table as Table) : dataset).fields;
  const key = table.key;
  const K = key.map(ident);
  const orderField = table.order_by ? fields.find((f) => f.name === table.order_by) : undefined;
  // Event order as a number: epoch seconds for times and dates, the value for numbers.
  const ord = orderField
    ? orderField.type === 'timestamp' || orderField.type === 'date'
      ? `extract(epoch FROM ${ident(orderField.name)}::timestamptz)::float8`
      : `${ident(orderField.name)}::float8`
    : '_ord::float8';
  const columns = [...fields.map((f) => f.name).filter((n) => !key.includes(n)), ...extraColumns];
  const rule = (c: string): Rule => (table.columns[c] as Rule | undefined) ?? 'latest';
  const ordered = columns.filter((c) => rule(c) === 'latest' || rule(c) === 'earliest');

  const agg = (c: string): string => {
    const q = ident(c);
    switch (rule(c)) {
      case 'latest':
        return `(array_agg(${q} ORDER BY ${ord} DESC NULLS LAST, _ord DESC) FILTER (WHERE ${q} IS NOT NULL))[1]`;
      case 'earliest':
        return `(array_agg(${q} ORDER BY ${ord} ASC NULLS LAST, _ord ASC) FILTER (WHERE ${q} IS NOT NULL))[1]`;
      case 'min':
        return `min(${q})`;
      case 'max':
        return `max(${q})`;
      case 'sum':
        return `sum(${q})`;
    }
  };
  const orderOf = (c: string): string => `${rule(c) === 'latest' ? 'max' : 'min'}(${ord}) FILTER (WHERE ${ident(c)} IS NOT NULL)`;
  const valueOrder = ordered.length
    ? `jsonb_strip_nulls(jsonb_build_object(${ordered.map((c) => `'${c}', ${orderOf(c)}`).join(', ')}))`
    : `'{}'::jsonb`;

  // Whether the incoming (EXCLUDED) value of an ordered column wins over the stored one.
  const newWins = (c: string): string => {
    const q = ident(c);
    if (!orderField) return rule(c) === 'latest' ? `EXCLUDED.${q} IS NOT NULL` : `t.${q} IS NULL AND EXCLUDED.${q} IS NOT NULL`;
    const cmp = rule(c) === 'latest' ? '>=' : '<=';
    return `EXCLUDED.${q} IS NOT NULL AND (t.${q} IS NULL OR (EXCLUDED.${VALUE_ORDER_COLUMN}->>'${c}')::float8 ${cmp} coalesce((t.${VALUE_ORDER_COLUMN}->>'${c}')::float8, ${rule(c) === 'latest' ? "'-infinity'" : "'infinity'"}))`;
  };
  const merged = (c: string): string => {
    const q = ident(c);
    switch (rule(c)) {
      case 'latest':
      case 'earliest':
        return `CASE WHEN ${newWins(c)} THEN EXCLUDED.${q} ELSE t.${q} END`;
      case 'min':
        return `least(t.${q}, EXCLUDED.${q})`;
      case 'max':
        return `greatest(t.${q}, EXCLUDED.${q})`;
      case 'sum':
        return `CASE WHEN EXCLUDED.${q} IS NULL THEN t.${q} ELSE coalesce(t.${q}, 0) + EXCLUDED.${q} END`;
    }
  };
  const mergedOrder = ordered.length
    ? `t.${VALUE_ORDER_COLUMN} || jsonb_strip_nulls(jsonb_build_object(${ordered
        .map((c) => `'${c}', CASE WHEN ${newWins(c)} THEN EXCLUDED.${VALUE_ORDER_COLUMN}->'${c}' ELSE t.${VALUE_ORDER_COLUMN}->'${c}' END`)
        .join(', ')}))`
    : `t.${VALUE_ORDER_COLUMN}`;
  const C = columns.map(ident);
  const all = [...K, ...C, ident(VALUE_ORDER_COLUMN), '"_msg_id"', '"_ingested_at"', '"_source_time"'];
  const sets = [...columns.map((c) => `${ident(c)} = ${merged(c)}`), `${ident(VALUE_ORDER_COLUMN)} = ${mergedOrder}`];

  const flag = insertedFlag({ target, key: K, source: 'agg', partitioned });

  return {
    mergeSql: `WITH agg AS (
        SELECT ${K.join(', ')}, ${columns.map((c) => `${agg(c)} AS ${ident(c)}`).join(', ')}${columns.length ? ',' : ''}
          ${valueOrder} AS ${ident(VALUE_ORDER_COLUMN)},
          (array_agg(_msg_id ORDER BY _ord DESC))[1] AS _msg_id, max(_ingested_at) AS _ingested_at, max(_source_time) AS _source_time,
          max(_ord) AS _last_ord
        FROM ${staging} GROUP BY ${K.join(', ')}
      ), ${flag.ctes} up AS (
        INSERT INTO ${target} AS t (${all.join(', ')})
        SELECT ${all.join(', ')} FROM agg
        ON CONFLICT (${K.join(', ')}) DO UPDATE SET ${sets.join(', ')}, "_msg_id" = EXCLUDED."_msg_id",
          "_ingested_at" = EXCLUDED."_ingested_at", "_source_time" = EXCLUDED."_source_time", "_loaded_at" = now()
        -- An event that changes nothing leaves the row (and its _loaded_at) alone.
        WHERE ROW(${[...C.map((c) => `t.${c}`), `t.${ident(VALUE_ORDER_COLUMN)}`].join(', ')})
          IS DISTINCT FROM ROW(${[...columns.map(merged), mergedOrder].join(', ')})
        RETURNING ${K.map((k) => `t.${k}`).join(', ')}, ${flag.returning} AS _ins)
      SELECT s._msg_id, count(*) FILTER (WHERE up._ins AND s._ord = agg._last_ord)::int AS inserted,
        count(*) FILTER (WHERE up._ins IS NOT NULL AND NOT (up._ins AND s._ord = agg._last_ord))::int AS updated,
        count(*) FILTER (WHERE up._ins IS NULL)::int AS unchanged
      FROM ${staging} s JOIN agg USING (${K.join(', ')}) LEFT JOIN up USING (${K.join(', ')}) GROUP BY s._msg_id`,
  };
};

/**
 * `upsert`: inserts new keys and overwrites existing ones; within a flush the record latest in
 * stream order wins, so redelivery and batch boundaries give the same final table.
 */
import { ident } from '@tributary/warehouse';
import { MODE_SPECS } from '@tributary/contract';
import type { ModeFactory } from './mode';

/** Config shape (from the core spec). */
export const spec = MODE_SPECS.upsert;

/** Creates the mode. */
export const create: ModeFactory<typeof spec> = (table, { dataset, target, staging, extraColumns = [] }) => {
  const names = [...dataset.fields.map((f) => f.name), ...extraColumns, '_msg_id', '_ingested_at', '_source_time'];
  const cols = names.map(ident).join(', ');
  const key = table.key.map(ident).join(', ');
  const updates = names
    .filter((n) => !table.key.includes(n))
    .map((n) => `${ident(n)} = EXCLUDED.${ident(n)}`)
    .concat('"_loaded_at" = now()')
    .join(', ');
  return {
    mergeSql: `WITH ins AS (
        INSERT INTO ${target} (${cols})
        SELECT ${cols} FROM (SELECT DISTINCT ON (${key}) * FROM ${staging} ORDER BY ${key}, _ord DESC) s
        ON CONFLICT (${key}) DO UPDATE SET ${updates}
        RETURNING _msg_id)
      SELECT _msg_id, count(*)::int AS written FROM ins GROUP BY _msg_id`,
  };
};

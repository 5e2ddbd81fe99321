/**
 * `upsert`: inserts new keys and overwrites existing ones; within a flush the record latest in
 * stream order wins (the earlier ones of its key are skipped), so redelivery and batch boundaries
 * give the same final table. A stored row whose data columns already hold the incoming values is
 * left alone (not rewritten: its `_loaded_at`, `_msg_id` and row version stay) and counted
 * `unchanged`.
 */
import { ident } from '@tributary/warehouse/sql';
import { MODE_SPECS } from '@tributary/contract/spec';
import { candidateCountsSql, insertedFlag, rowDiffers } from '../sql/row-outcome';
import type { ModeFactory } from './mode';

/** Config shape (from the core spec). */
export const spec = MODE_SPECS.upsert;

/** Creates the mode. */
export const create: ModeFactory<typeof spec> = (table, { dataset, target, staging, extraColumns = [], partitioned = false }) => {
  // Data columns: the dataset's fields and the lookups' surrogate keys; bookkeeping follows them.
  const data = [...dataset.fields.map((f) => f.name), ...extraColumns];
  const names = [...data, '_msg_id', '_ingested_at', '_source_time'];
  const cols = names.map(ident).join(', ');
  const K = table.key.map(ident);
  const key = K.join(', ');
  const updates = names
    .filter((n) => !table.key.includes(n))
    .map((n) => `${ident(n)} = EXCLUDED.${ident(n)}`)
    .concat('"_loaded_at" = now()')
    .join(', ');
  const changed = rowDiffers(data.filter((n) => !table.key.includes(n)).map(ident));
  const flag = insertedFlag({ target, key: K, source: 's', partitioned });
  return {
    mergeSql: `WITH s AS (SELECT DISTINCT ON (${key}) * FROM ${staging} ORDER BY ${key}, _ord DESC), ${flag.ctes}
      up AS (
        INSERT INTO ${target} AS t (${cols})
        SELECT ${cols} FROM s
        ON CONFLICT (${key}) DO UPDATE SET ${updates}
        WHERE ${changed}
        RETURNING t._msg_id, ${flag.returning} AS _ins)
      ${candidateCountsSql('s', 'up')}`,
  };
};

/**
 * `upsert`: inserts new keys and overwrites existing ones; within a flush the record latest in
 * stream order wins (the earlier ones of its key are skipped), so redelivery and batch boundaries
 * give the same final table. A stored row whose data columns already hold the incoming values is
 * left alone (not rewritten: its `_loaded_at`, `_msg_id` and row version stay) and counted
 * `unchanged`.
 *
 * With a `position` field (a CDC record's LSN, or another source order) the newest position wins
 * instead: within a flush the candidate per key is the one of highest position (stream order
 * breaks ties), and a stored row is replaced only by a record at the same or a later position
 * (the `ON CONFLICT ... WHERE`), so a re-read row (`tributary sources resnapshot`) loaded after a
 * change streamed later, or two loader replicas committing out of order, cannot bring back an older
 * row. A refused record counts as `unchanged`.
 */
import { ident } from '@tributary/warehouse/sql';
import { TributaryError } from '@tributary/contract/errors';
import { MODE_SPECS } from '@tributary/contract/spec';
import { candidateCountsSql, insertedFlag, rowDiffers } from '../sql/row-outcome';
import type { Dataset } from '@tributary/contract/spec';
import type { ModeFactory } from './mode';

/**
 * The SQL value that orders rows by the `position` field (its expression on a row alias), or
 * undefined without one: a string field holds LSNs (`16/B374D848`, which sort wrongly as text) and
 * compares as `pg_lsn`; other types compare as they are.
 */
function positionOrder(field: string | undefined, dataset: Dataset): ((alias: string) => string) | undefined {
  if (field === undefined) return undefined;
  const f = dataset.fields.find((x) => x.name === field);
  if (!f) throw new TributaryError('TRIB_E_CONFIG', `upsert position "${field}" is not a field of dataset "${dataset.name}"`);
  return f.type === 'string' ? (alias) => `${alias}.${ident(field)}::pg_lsn` : (alias) => `${alias}.${ident(field)}`;
}

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
  const differs = rowDiffers(data.filter((n) => !table.key.includes(n)).map(ident));
  const flag = insertedFlag({ target, key: K, source: 's', partitioned });
  const pos = positionOrder(table.position, dataset);
  const changed = pos ? `(${pos('t')} IS NULL OR ${pos('EXCLUDED')} >= ${pos('t')}) AND ${differs}` : differs;
  const newest = pos ? `${pos(staging)} DESC NULLS LAST, _ord DESC` : '_ord DESC';
  return {
    mergeSql: `WITH s AS (SELECT DISTINCT ON (${key}) * FROM ${staging} ORDER BY ${key}, ${newest}), ${flag.ctes}
      up AS (
        INSERT INTO ${target} AS t (${cols})
        SELECT ${cols} FROM s
        ON CONFLICT (${key}) DO UPDATE SET ${updates}
        WHERE ${changed}
        RETURNING t._msg_id, ${flag.returning} AS _ins)
      ${candidateCountsSql('s', 'up')}`,
  };
};

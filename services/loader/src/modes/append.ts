/**
 * `append`: inserts every record (counted `inserted`). With a `key`, a record whose key is
 * already in the table (or earlier in the same flush) is skipped and counted in the ledger's
 * `skipped`; append never updates a row.
 */
import { ident } from '@tributary/warehouse/sql';
import { MODE_SPECS } from '@tributary/contract/spec';
import type { ModeFactory } from './mode';

/** Config shape (from the core spec). */
export const spec = MODE_SPECS.append;

/** Creates the mode. */
export const create: ModeFactory<typeof spec> = (table, { dataset, target, staging, extraColumns = [] }) => {
  const cols = [
    ...dataset.fields.map((f) => ident(f.name)),
    ...extraColumns.map(ident),
    '"_msg_id"',
    '"_ingested_at"',
    '"_source_time"',
  ].join(', ');
  if (!table.key) {
    return {
      mergeSql: `WITH ins AS (INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${staging} ORDER BY _ord RETURNING _msg_id)
        SELECT _msg_id, count(*)::int AS inserted, 0 AS updated, 0 AS unchanged FROM ins GROUP BY _msg_id`,
    };
  }
  const key = table.key.map(ident).join(', ');
  // First occurrence in stream order wins; later repeats of the key are skipped.
  return {
    mergeSql: `WITH ins AS (
        INSERT INTO ${target} (${cols})
        SELECT ${cols} FROM (SELECT DISTINCT ON (${key}) * FROM ${staging} ORDER BY ${key}, _ord) s
        ON CONFLICT (${key}) DO NOTHING
        RETURNING _msg_id)
      SELECT _msg_id, count(*)::int AS inserted, 0 AS updated, 0 AS unchanged FROM ins GROUP BY _msg_id`,
  };
};

/**
 * `scd2`: type-2 dimension. Each flush rebuilds the version timeline of the members it touches,
 * in SQL, from their stored versions plus the new records, ordered by event time (`valid_from`
 * field, else load time):
 *
 * - records at the same time collapse to the last in stream order (it replaces a stored version's
 *   values in place);
 * - consecutive records whose tracked columns are equal (NULL-safe) form one version, starting at
 *   the earliest of them, with that record's values; a run holds at most one stored version,
 *   whose surrogate key it keeps (facts point at it), so a late record equal to the next version
 *   moves that version's start back instead of adding a row;
 * - an inferred member (created by a fact lookup) is filled in by the first real record;
 * - a delete closes the version before it and leaves a deletion marker (`is_deleted`);
 * - `valid_to` is the next version's start; `is_current` the last version unless deleted.
 *
 * Only rows that differ are written. Members are locked first (lock-keys.ts); rows that stop being
 * current are updated before rows that become current, and new rows inserted last, because
 * PostgreSQL checks unique indexes row by row.
 */
import { datasetOf, FIELD_TYPES, ident, MODE_SPECS, scd2Layout, type Table } from '@tributary/core';
import { keyHash, lockMembersSql } from '../lock-keys';
import type { ModeFactory } from './mode';

/** Config shape (from the core spec). */
export const spec = MODE_SPECS.scd2;

/** SQL literal of a delete marker value, compared as text so any field type works. */
function literal(v: string | number | boolean): string {
  return `'${String(v).replace(/'/g, "''")}'`;
}

/** Creates the mode. */
export const create: ModeFactory<typeof spec> = (table, { dataset, target, staging, scratch, pipeline }) => {
  const fields = (pipeline ? datasetOf(pipeline, table as Table) : dataset).fields;
  const layout = scd2Layout(table, fields);
  const plan = scratch ?? ident(`${staging.replace(/"/g, '')}_plan`);
  const F = fields.map((f) => ident(f.name));
  const K = layout.key.map(ident);
  const TR = layout.tracked.map(ident);
  const cols = (alias: string): string => F.map((c) => `${alias}.${c}`).join(', ');
  const keyList = K.join(', ');
  const sk = ident(layout.sk);
  const vfExpr = layout.validFrom ? `s.${ident(layout.validFrom)}::timestamptz` : 'now()';
  const delExpr = layout.deletes ? `coalesce(s.${ident(layout.deletes.field)}::text = ${literal(layout.deletes.value)}, false)` : 'false';
  const ignoreDeletes = layout.deletes?.action === 'ignore';
  // Out-of-order arrival is only possible with an event-time field; only then is _last_event_at kept.
  const track = layout.validFrom !== undefined;
  const lag = (c: string): string => `lag(${c}) OVER w`;
  const trackedDiffers = TR.length > 0 ? `ROW(${TR.map(lag).join(', ')}) IS DISTINCT FROM ROW(${TR.join(', ')})` : 'false';

  const sessionSql = [
    `CREATE TEMP TABLE IF NOT EXISTS ${plan} (_sk bigint, ${fields.map((f) => `${ident(f.name)} ${FIELD_TYPES[f.type]}`).join(', ')},
      _vf timestamptz, _vt timestamptz, _last timestamptz, _cur boolean, _del boolean, _msg_id text, _ingested_at timestamptz, _changed boolean, _credit text)
      ON COMMIT DELETE ROWS`,
  ];

  const planSql = `INSERT INTO ${plan} (_sk, ${F.join(', ')}, _vf, _vt, _last, _cur, _del, _msg_id, _ingested_at, _changed, _credit)
    WITH ev AS (
      SELECT DISTINCT ON (${keyList}, _vf) ${F.join(', ')}, _vf, _del, _msg_id, _ingested_at, _ord
      FROM (SELECT s.*, ${vfExpr} AS _vf, ${delExpr} AS _del FROM ${staging} s) s
      ${ignoreDeletes ? 'WHERE NOT _del' : ''}
      ORDER BY ${keyList}, _vf, _ord DESC
    ), old AS (
      SELECT t.${sk} AS _sk, ${cols('t')}, t."valid_from" AS _vf, t."is_deleted" AS _del, t."is_inferred" AS _inf, t."_msg_id", t."_ingested_at",
        t."_last_event_at" AS _last
      FROM ${target} t WHERE (${K.map((k) => `t.${k}`).join(', ')}) IN (SELECT ${keyList} FROM ev)
    ), el0 AS (
      SELECT _sk, ${F.join(', ')}, _vf, _del, _inf, _msg_id, _ingested_at, false AS _new, -1 AS _prio FROM old
      UNION ALL
      -- A stored version resumes at the latest event it absorbed, should a late change split it.
      SELECT NULL, ${F.join(', ')}, _last, _del, false, _msg_id, _ingested_at, false, -2 FROM old WHERE _last > _vf
      UNION ALL
      SELECT NULL::bigint, ${F.join(', ')}, _vf, _del, false, _msg_id, _ingested_at, true, _ord FROM ev
    ), el AS (
      -- A record at the time of a stored version replaces its values but keeps its surrogate key.
      SELECT DISTINCT ON (${keyList}, _vf) max(_sk) OVER (PARTITION BY ${keyList}, _vf) AS _sk, ${F.join(', ')}, _vf, _del,
        bool_or(_inf) OVER (PARTITION BY ${keyList}, _vf) AS _inf, _msg_id, _ingested_at, _new
      FROM el0 ORDER BY ${keyList}, _vf, _prio DESC
    ), r1 AS (
      SELECT el.*, CASE
          WHEN ${lag('_vf')} IS NULL THEN 1
          WHEN ${lag('_inf')} THEN 0
          WHEN ${lag('_del')} <> _del THEN 1
          WHEN _del THEN 0
          WHEN ${trackedDiffers} THEN 1
          ELSE 0 END AS _brk
      FROM el WINDOW w AS (PARTITION BY ${keyList} ORDER BY _vf)
    ), r2 AS (
      SELECT r1.*, sum(_brk) OVER (PARTITION BY ${keyList} ORDER BY _vf) AS _run FROM r1
    ), r3 AS (
      -- At most one stored version per run: a second one starts a new run (never delete a row facts may point at).
      SELECT r2.*, greatest(count(_sk) OVER (PARTITION BY ${keyList}, _run ORDER BY _vf), 1) AS _sub FROM r2
    ), ver AS (
      -- A version starts at its earliest record and holds the values of its latest (untracked
      -- columns are type 1 within a version); credit goes to a message of this flush that is in it.
      SELECT DISTINCT ON (${keyList}, _run, _sub) max(_sk) OVER g AS _sk, ${F.join(', ')},
        min(_vf) FILTER (WHERE NOT _inf) OVER g AS _vf, _del, _msg_id, _ingested_at,
        max(CASE WHEN _new THEN _msg_id END) OVER g AS _credit,
        ${track ? 'max(_vf) OVER g' : 'NULL::timestamptz'} AS _last
      FROM r3 WINDOW g AS (PARTITION BY ${keyList}, _run, _sub)
      ORDER BY ${keyList}, _run, _sub, r3._inf, r3._vf DESC
    ), fin AS (
      SELECT ver.*, coalesce(lead(_vf) OVER w, 'infinity') AS _vt, (lead(_vf) OVER w IS NULL AND NOT _del) AS _cur
      FROM ver WINDOW w AS (PARTITION BY ${keyList} ORDER BY _vf)
    )
    SELECT f._sk, ${cols('f')}, f._vf, f._vt, f._last, f._cur, f._del, f._msg_id, f._ingested_at,
      t.${sk} IS NULL OR ROW(${cols('t')}, t."valid_from", t."valid_to", t."is_current", t."is_deleted", t."is_inferred", t."_last_event_at")
        IS DISTINCT FROM ROW(${cols('f')}, f._vf, f._vt, f._cur, f._del, false, f._last),
      f._credit
    FROM fin f LEFT JOIN ${target} t ON t.${sk} = f._sk`;

  const update = (current: boolean): string =>
    `UPDATE ${target} t SET ${[...F.map((c) => `${c} = p.${c}`), '"valid_from" = p._vf', '"valid_to" = p._vt', '"is_current" = p._cur', '"is_deleted" = p._del', '"is_inferred" = false', '"_last_event_at" = p._last', '"_msg_id" = p._msg_id', '"_ingested_at" = p._ingested_at', '"_loaded_at" = now()'].join(', ')}
     FROM ${plan} p WHERE t.${sk} = p._sk AND p._changed AND ${current ? '' : 'NOT '}p._cur`;

  return {
    sessionSql,
    beforeMerge: [
      `DELETE FROM ${plan}`,
      lockMembersSql(table.name, `SELECT ${keyHash(K.map((k) => `s.${k}`))} AS h FROM ${staging} s`),
      planSql,
      update(false),
      update(true),
    ],
    mergeSql: `WITH ins AS (
        INSERT INTO ${target} (${F.join(', ')}, "valid_from", "valid_to", "is_current", "is_deleted", "is_inferred", "_last_event_at", "_msg_id", "_ingested_at")
        SELECT ${F.join(', ')}, _vf, _vt, _cur, _del, false, _last, _msg_id, _ingested_at FROM ${plan} WHERE _sk IS NULL
      )
      SELECT _credit AS _msg_id, count(*)::int AS written FROM ${plan}
      WHERE _changed AND _credit IS NOT NULL GROUP BY _credit`, // ins runs to completion although unreferenced
  };
};

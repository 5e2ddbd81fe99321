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
 * Late records (with a `valid_from` field): a version remembers the event times of the records
 * it absorbed after its start (`_absorbed_at`, ascending; `_last_event_at` is the latest), so a
 * late record of another state that lands among them splits it where the history says: the
 * version's state resumes at the earliest absorbed time after the late record, and the later ones
 * stay absorbed in the resumed version. In the plan, the absorbed times after the first record of
 * the flush that lands among them each become an element carrying the version's values, which
 * the run logic above folds back together unless a record of another state parts them; the rest
 * ride along as an array with the version's element (`_carry`), so a version costs no rows per
 * absorbed time unless a record lands among them. A version keeps the latest SCD2_ABSORBED_MAX
 * absorbed times (a member fed the same state every day must not grow a row without bound): a
 * late record older than the oldest kept time resumes the old state at that oldest kept time,
 * later than the history says (approximate). A row whose array is NULL or does not end at
 * `_last_event_at` (written before `_absorbed_at` existed, or rewritten by a loader of that time)
 * resumes at `_last_event_at` alone, likewise approximate; it gets a consistent array when a flush
 * of its member rewrites it.
 *
 * Counts, per version credited to a message of the flush in it: a new version `inserted`, a
 * stored version the plan rewrites `updated` (values in place, a moved start, a filled inferred
 * member, an absorbed event time), one it leaves as it was `unchanged`; closing the version before
 * a new one is part of that insert, not counted. A message's other records are skipped (same key
 * and time as a later record, in a version credited to another record of the flush, an ignored
 * delete).
 *
 * A flush plans only the member's stored versions that end after its earliest record of the flush
 * (`valid_to`, the next version's start: the version holding that record and all after it):
 * the rebuild cannot change a version that ends before (its values, start and end stay, since no
 * record moves the start of the version after it earlier; runs of equal values never join two
 * stored versions; its absorbed times all lie before the earliest record). So a flush of changes
 * plans two rows per member however long the members' histories are.
 *
 * Members whose records of the flush are all changes after their current version (the streaming
 * case) skip the plan's window passes: each record no delete, with an event time, later than the
 * member's record before it and of another state; and either no version stored, or the current
 * version no inferred member, starting and having last absorbed a record before the first record,
 * and of another state than it. What the plan would do is then known without it: the current
 * version closes at the first record (its `_absorbed_at` normalised as the plan's `_abs` and
 * bounded, `_last_event_at` its latest), and each record is a new version to the next record's
 * time, credited to its message, written into the plan table with the rest. The plan reads the
 * members left.
 *
 * Only rows that differ are written. Members are locked first (sql/lock-keys.ts); rows that stop being
 * current are updated before rows that become current, and new rows inserted last, because
 * PostgreSQL checks unique indexes row by row.
 */
import { datasetOf, pgColumnType, MODE_SPECS, scd2Layout, type Table } from '@tributary/contract/spec';
import { ident } from '@tributary/warehouse/sql';
import { keyHash, lockMembersSql } from '../sql/lock-keys';
import type { ModeFactory } from './mode';

/** Config shape (from the core spec). */
export const spec = MODE_SPECS.scd2;

/** How many absorbed event times a version keeps (the latest), bounding `_absorbed_at`. */
export const SCD2_ABSORBED_MAX = 64;

/** work_mem of an scd2 flush's transaction. */
export const SCD2_WORK_MEM = '32MB';

/** The frame of a window whose aggregates read the whole partition although it is ordered (for the sort it shares). */
const WHOLE = 'ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING';

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
  // Out-of-order arrival is only possible with an event-time field; only then are _last_event_at and _absorbed_at kept.
  const track = layout.validFrom !== undefined;
  const lag = (c: string): string => `lag(${c}) OVER w`;
  // A stored version's absorbed times, trusted when the array ends at its latest event.
  const absExpr = track
    ? `CASE WHEN t."_last_event_at" > t."valid_from" THEN CASE WHEN t."_absorbed_at"[cardinality(t."_absorbed_at")] = t."_last_event_at" THEN t."_absorbed_at" ELSE ARRAY[t."_last_event_at"] END END`
    : 'NULL::timestamptz[]';
  const trackedDiffers = TR.length > 0 ? `ROW(${TR.map(lag).join(', ')}) IS DISTINCT FROM ROW(${TR.join(', ')})` : 'false';

  // The absorbed times of each version (all but its start, ascending, `_ab`): those of the
  // elements it absorbed in this plan, grouped (a window would copy the array onto every element;
  // only absorbed elements are grouped, none in a flush of changes), with the array its stored
  // version brought along whole (`_carry`) right after that version's element (at `_cvf`).
  const abExpr = track
    ? `CASE WHEN ver._carry IS NULL THEN tm._times
        WHEN ver._cvf = ver._vf OR tm._times IS NULL THEN ver._carry || tm._times
        ELSE tm._times[:array_position(tm._times, ver._cvf)] || ver._carry || tm._times[array_position(tm._times, ver._cvf) + 1:] END`
    : 'NULL::timestamptz[]';
  const timesJoin = track
    ? `LEFT JOIN (SELECT ${keyList}, _run, _sub, array_agg(_vf ORDER BY _vf) AS _times FROM r3
          WHERE NOT _first AND NOT _inf AND NOT _pinf AND _vf IS NOT NULL GROUP BY ${keyList}, _run, _sub) tm
        ON ${K.map((k) => `tm.${k} = ver.${k}`).join(' AND ')} AND tm._run = ver._run AND tm._sub = ver._sub`
    : '';

  const sessionSql = [
    `CREATE TEMP TABLE IF NOT EXISTS ${plan} (_sk bigint, ${fields.map((f) => `${ident(f.name)} ${pgColumnType(f)}`).join(', ')},
      _vf timestamptz, _vt timestamptz, _last timestamptz, _abs timestamptz[], _cur boolean, _del boolean, _msg_id text, _ingested_at timestamptz, _source_time timestamptz, _changed boolean, _credit text)
      ON COMMIT DELETE ROWS`,
  ];

  const keyEq = (a: string, b: string): string => K.map((k) => `${a}.${k} = ${b}.${k}`).join(' AND ');
  // A stored version's absorbed times as the plan normalises them (absExpr), and the bound it keeps.
  const keptAbs = `(${absExpr})[greatest(1, cardinality(${absExpr}) - ${SCD2_ABSORBED_MAX - 1}):]`;

  // The streaming case without the plan's window passes (module comment, "Members whose records
  // of the flush are all changes"): close the current version, plan the new ones as the plan would.
  const directSql = `WITH r AS (
      -- _ok: no delete, an event time, after the member's record before it and of another state.
      SELECT s.*, lead(_vf) OVER w AS _next, row_number() OVER w = 1 AS _first,
        NOT _del AND _vf IS NOT NULL AND (${lag('_vf')} IS NULL OR (${lag('_vf')} < _vf AND ${trackedDiffers})) AS _ok
      FROM (SELECT s.*, ${vfExpr} AS _vf, ${delExpr} AS _del FROM ${staging} s) s
      WINDOW w AS (PARTITION BY ${keyList} ORDER BY _vf)
    ), c AS (
      SELECT r.*, bool_and(_ok) OVER (PARTITION BY ${keyList}) AS _all FROM r
    ), m AS (
      -- The members taken: the first record after the current version and of another state, or no version stored.
      SELECT ${K.map((k) => `c.${k}`).join(', ')}, c._vf, t.${sk} AS _osk
      FROM c LEFT JOIN ${target} t ON ${keyEq('t', 'c')} AND t."is_current"
      WHERE c._first AND c._all AND CASE WHEN t.${sk} IS NULL THEN NOT EXISTS (SELECT 1 FROM ${target} o WHERE ${keyEq('o', 'c')})
        ELSE NOT t."is_inferred" AND c._vf > t."valid_from" AND c._vf > coalesce(t."_last_event_at", '-infinity')
          AND ${TR.length > 0 ? `ROW(${TR.map((x) => `t.${x}`).join(', ')}) IS DISTINCT FROM ROW(${TR.map((x) => `c.${x}`).join(', ')})` : 'false'} END
    ), closed AS (
      UPDATE ${target} t SET "valid_to" = m._vf, "is_current" = false,
        "_last_event_at" = ${track ? `coalesce((${absExpr})[cardinality(${absExpr})], t."valid_from")` : 'NULL'},
        "_absorbed_at" = ${keptAbs}, "_loaded_at" = now()
      FROM m WHERE t.${sk} = m._osk
    )
    INSERT INTO ${plan} (_sk, ${F.join(', ')}, _vf, _vt, _last, _abs, _cur, _del, _msg_id, _ingested_at, _source_time, _changed, _credit)
    SELECT NULL, ${cols('c')}, c._vf, coalesce(c._next, 'infinity'), ${track ? 'c._vf' : 'NULL'}, NULL, c._next IS NULL, false,
      c._msg_id, c._ingested_at, c._source_time, true, c._msg_id
    FROM c JOIN m ON ${keyEq('m', 'c')}`;

  // Whether the direct statement left records to the plan: it plans one row per record it takes.
  // Uncorrelated, so PostgreSQL evaluates it once before anything else (a one-time filter): the
  // plan reads nothing when it took them all.
  const rest = `(SELECT count(*) FROM ${staging}) > (SELECT count(*) FROM ${plan})`;

  const planSql = `INSERT INTO ${plan} (_sk, ${F.join(', ')}, _vf, _vt, _last, _abs, _cur, _del, _msg_id, _ingested_at, _source_time, _changed, _credit)
    WITH ev AS (
      SELECT DISTINCT ON (${keyList}, _vf) ${F.join(', ')}, _vf, _del, _msg_id, _ingested_at, _source_time, _ord
      -- The members the direct statement planned are in the plan already.
      FROM (SELECT s.*, ${vfExpr} AS _vf, ${delExpr} AS _del FROM ${staging} s WHERE NOT EXISTS (SELECT 1 FROM ${plan} p WHERE ${keyEq('p', 's')})) s
      ${ignoreDeletes ? 'WHERE NOT _del' : ''}
      ORDER BY ${keyList}, _vf, _ord DESC
    ), old AS (
      SELECT t.${sk} AS _sk, ${cols('t')}, t."valid_from" AS _vf, t."is_deleted" AS _del, t."is_inferred" AS _inf, t."_msg_id", t."_ingested_at", t."_source_time",
        t."_last_event_at" AS _last, ${absExpr} AS _abs
      FROM (SELECT ${keyList}, min(_vf) AS _min FROM ev GROUP BY ${keyList}) m
      -- Only the member's versions that end after its earliest record: the one holding it and
      -- those after (the rebuild cannot change the ones before).
      JOIN ${target} t ON ${K.map((k) => `t.${k} = m.${k}`).join(' AND ')} AND (t."valid_to" > m._min OR m._min IS NULL)
    ), spl AS (
      -- _abs: a stored version's absorbed times (of a row from before _absorbed_at, or whose array
      -- does not end at _last_event_at, the latest one). The version splits when a record of this
      -- flush lands among them: _rf, the first record at or after its start (width_bucket counts
      -- the member's record times up to a time, by binary search), is at most its latest event.
      -- DISTINCT ON keeps the planner's estimate of these versions small: it cannot see how few
      -- they are, and a large estimate times unnest's would tip the plan into JIT compilation.
      SELECT DISTINCT ON (_sk) * FROM (
        SELECT o.*, CASE WHEN coalesce(m._rt[width_bucket(o._vf, m._rt)] = o._vf, false) THEN o._vf
            ELSE m._rt[width_bucket(o._vf, m._rt) + 1] END AS _rf
        FROM old o JOIN (SELECT ${keyList}, array_agg(_vf ORDER BY _vf) FILTER (WHERE _vf IS NOT NULL) AS _rt FROM ev GROUP BY ${keyList}) m
          ON ${K.map((k) => `m.${k} = o.${k}`).join(' AND ')}
        WHERE o._abs IS NOT NULL
      ) x WHERE _rf <= _last
    ), el0 AS (
      -- A version's absorbed times ride along whole with its element (_carry) unless it splits;
      -- then only those before _rf do, and each later one becomes an element at which its state
      -- resumes, should a record split it there.
      SELECT _sk, ${F.join(', ')}, _vf, _del, _inf, _msg_id, _ingested_at, _source_time, false AS _new, -1 AS _prio, _abs AS _carry
      FROM old WHERE _sk NOT IN (SELECT _sk FROM spl)
      UNION ALL
      SELECT _sk, ${F.join(', ')}, _vf, _del, _inf, _msg_id, _ingested_at, _source_time, false, -1, nullif(ARRAY(SELECT a FROM unnest(_abs) a WHERE a < _rf), '{}')
      FROM spl
      UNION ALL
      SELECT NULL, ${cols('o')}, a._at, o._del, false, o._msg_id, o._ingested_at, o._source_time, false, -2, NULL
      FROM spl o CROSS JOIN LATERAL unnest(o._abs) AS a(_at) WHERE a._at > o._rf
      UNION ALL
      SELECT NULL::bigint, ${F.join(', ')}, _vf, _del, false, _msg_id, _ingested_at, _source_time, true, _ord, NULL::timestamptz[] FROM ev
    ), el AS (
      -- A record at the time of a stored version replaces its values but keeps its surrogate key
      -- (the version split there, so it carries nothing).
      -- The window is ordered as DISTINCT ON needs (its frame the whole partition): one sort for both.
      SELECT DISTINCT ON (${keyList}, _vf) max(_sk) OVER e AS _sk, ${F.join(', ')}, _vf, _del,
        bool_or(_inf) OVER e AS _inf, _msg_id, _ingested_at, _source_time, _new, _carry
      FROM el0 WINDOW e AS (PARTITION BY ${keyList}, _vf ORDER BY _prio DESC ${WHOLE})
      ORDER BY ${keyList}, _vf, _prio DESC
    ), r1 AS (
      SELECT el.*, CASE
          WHEN ${lag('_vf')} IS NULL THEN 1
          WHEN ${lag('_inf')} THEN 0
          WHEN ${lag('_del')} <> _del THEN 1
          WHEN _del THEN 0
          WHEN ${trackedDiffers} THEN 1
          ELSE 0 END AS _brk, coalesce(${lag('_inf')}, false) AS _pinf
      FROM el WINDOW w AS (PARTITION BY ${keyList} ORDER BY _vf)
    ), r2 AS (
      SELECT r1.*, sum(_brk) OVER (PARTITION BY ${keyList} ORDER BY _vf) AS _run FROM r1
    ), r3 AS (
      -- At most one stored version per run: a second one starts a new run (never delete a row facts may point at).
      -- _first: the element starts its version (after an inferred member's, _pinf, the next one does).
      SELECT r2.*, greatest(count(_sk) OVER c, 1) AS _sub, _brk = 1 OR (_sk IS NOT NULL AND count(_sk) OVER c > 1) AS _first
      FROM r2 WINDOW c AS (PARTITION BY ${keyList}, _run ORDER BY _vf)
    ), ver AS (
      -- A version starts at its earliest record and holds the values of its latest (untracked
      -- columns are type 1 within a version); credit goes to a message of this flush that is in it.
      SELECT DISTINCT ON (${keyList}, _run, _sub) max(_sk) OVER g AS _sk, ${F.join(', ')}, _run, _sub,
        min(_vf) FILTER (WHERE NOT _inf) OVER g AS _vf, _del, _msg_id, _ingested_at, _source_time,
        max(CASE WHEN _new THEN _msg_id END) OVER g AS _credit,
        max(_carry) OVER g AS _carry, max(CASE WHEN _carry IS NOT NULL THEN _vf END) OVER g AS _cvf
      FROM r3 WINDOW g AS (PARTITION BY ${keyList}, _run, _sub ORDER BY _inf, _vf DESC ${WHOLE})
      ORDER BY ${keyList}, _run, _sub, r3._inf, r3._vf DESC
    ), vt AS (
      SELECT ver.*, ${abExpr} AS _ab FROM ver ${timesJoin}
    ), fin AS (
      -- _last: the latest event; _abs: the latest ${SCD2_ABSORBED_MAX} absorbed times.
      SELECT vt.*, coalesce(lead(_vf) OVER w, 'infinity') AS _vt, (lead(_vf) OVER w IS NULL AND NOT _del) AS _cur,
        ${track ? 'coalesce(_ab[cardinality(_ab)], _vf)' : 'NULL::timestamptz'} AS _last,
        _ab[greatest(1, cardinality(_ab) - ${SCD2_ABSORBED_MAX - 1}):] AS _abs
      FROM vt WINDOW w AS (PARTITION BY ${keyList} ORDER BY _vf)
    )
    SELECT f._sk, ${cols('f')}, f._vf, f._vt, f._last, f._abs, f._cur, f._del, f._msg_id, f._ingested_at, f._source_time,
      t.${sk} IS NULL OR ROW(${cols('t')}, t."valid_from", t."valid_to", t."is_current", t."is_deleted", t."is_inferred", t."_last_event_at", t."_absorbed_at")
        IS DISTINCT FROM ROW(${cols('f')}, f._vf, f._vt, f._cur, f._del, false, f._last, f._abs),
      f._credit
    FROM fin f LEFT JOIN ${target} t ON t.${sk} = f._sk
    WHERE ${rest}`;

  const update = (current: boolean): string =>
    `UPDATE ${target} t SET ${[...F.map((c) => `${c} = p.${c}`), '"valid_from" = p._vf', '"valid_to" = p._vt', '"is_current" = p._cur', '"is_deleted" = p._del', '"is_inferred" = false', '"_last_event_at" = p._last', '"_absorbed_at" = p._abs', '"_msg_id" = p._msg_id', '"_ingested_at" = p._ingested_at', '"_source_time" = p._source_time', '"_loaded_at" = now()'].join(', ')}
     FROM ${plan} p WHERE t.${sk} = p._sk AND p._changed AND ${current ? '' : 'NOT '}p._cur
       AND EXISTS (SELECT FROM ${plan} WHERE _sk IS NOT NULL)`; // once, as rest: no stored version planned, nothing to read

  return {
    sessionSql,
    beforeMerge: [
      // The plan sorts the flush's versions several times over (each a few MB for a full flush):
      // in memory, not in temp files (PostgreSQL's default is 4MB per sort).
      `SET LOCAL work_mem = '${SCD2_WORK_MEM}'`,
      `DELETE FROM ${plan}`,
      lockMembersSql(table.name, `SELECT ${keyHash(K.map((k) => `s.${k}`))} AS h FROM ${staging} s`),
      directSql,
      planSql,
      update(false),
      update(true),
    ],
    mergeSql: `WITH ins AS (
        INSERT INTO ${target} (${F.join(', ')}, "valid_from", "valid_to", "is_current", "is_deleted", "is_inferred", "_last_event_at", "_absorbed_at", "_msg_id", "_ingested_at", "_source_time")
        SELECT ${F.join(', ')}, _vf, _vt, _cur, _del, false, _last, _abs, _msg_id, _ingested_at, _source_time FROM ${plan} WHERE _sk IS NULL
      )
      SELECT _credit AS _msg_id, count(*) FILTER (WHERE _changed AND _sk IS NULL)::int AS inserted,
        count(*) FILTER (WHERE _changed AND _sk IS NOT NULL)::int AS updated, count(*) FILTER (WHERE NOT _changed)::int AS unchanged
      FROM ${plan} WHERE _credit IS NOT NULL GROUP BY _credit`, // ins runs to completion although unreferenced
  };
};

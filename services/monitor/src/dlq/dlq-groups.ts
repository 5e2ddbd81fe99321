/**
 * Dead letters grouped by cause: counts per stage, source or dataset, error code, field (a dead
 * letter whose error names several fields counts under each) and source schema fingerprint (any of them), with first and last seen and a sample, plus totals by status.
 * Each group carries the filter that selects exactly it, so the console can preview, fix, replay
 * or discard a whole group.
 */
import type { Pool } from 'pg';
import type { DeadLetterGroup, DeadLetterGroups } from '@tributary/contract/monitor-api';
import { ERROR_FIELDS_SQL, filterClause, NONE, type DeadLetterFilter } from './dead-letter-store';

/** What dead letters can be grouped by, and the column each reads. */
export const GROUP_DIMENSIONS = {
  pipeline: 'd.pipeline',
  stage: 'd.stage',
  name: 'd.name',
  code: 'd.error_code',
  // A dead letter naming several fields counts once under each (see the lateral join below).
  field: 'ef.field',
  schema: 'd.schema_fingerprint',
} as const;

/** A grouping dimension. */
export type GroupDimension = keyof typeof GROUP_DIMENSIONS;

const MAX_GROUPS = 200;

/** Groups the dead letters matching `filter` by `by`, largest first, and counts them all by status. */
export async function groupDeadLetters(pool: Pool, filter: DeadLetterFilter, by: readonly GroupDimension[]): Promise<DeadLetterGroups> {
  const dims = [...new Set(by)];
  const cols = dims.map((k, i) => `${GROUP_DIMENSIONS[k]} AS g${i}`);
  const f = filterClause(filter, 1);
  const all = filterClause({ ...filter, status: 'all' }, 1);
  const from = 'FROM tributary.dead_letters d LEFT JOIN tributary.dead_letter_state s ON s.seq = d.seq';
  // By field: one row per field the error names (a row with none under null, "(none)").
  const fields = dims.includes('field')
    ? ` CROSS JOIN LATERAL unnest(CASE WHEN cardinality(${ERROR_FIELDS_SQL}) = 0 THEN ARRAY[NULL::text] ELSE ${ERROR_FIELDS_SQL} END) AS ef(field)`
    : '';
  // A field's group shows that field's own reason, not the record's whole list.
  const message = dims.includes('field')
    ? `coalesce((SELECT e->>'message' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(d.error_details) = 'array' THEN d.error_details ELSE '[]' END) e WHERE e->>'field' = ef.field LIMIT 1), d.error_message)`
    : 'd.error_message';
  const [groups, totals] = await Promise.all([
    pool.query<
      Record<string, unknown> & {
        count: number;
        first_seen: Date | null;
        last_seen: Date | null;
        sample_seq: string;
        sample_message: string | null;
      }
    >(
      `SELECT ${[...cols, ''].join(', ')}count(*)::int AS count,
              min(coalesce(d.failed_at, d.logged_at)) AS first_seen, max(coalesce(d.failed_at, d.logged_at)) AS last_seen,
              max(d.seq) AS sample_seq, (array_agg(${message} ORDER BY d.seq DESC))[1] AS sample_message
       ${from}${fields} WHERE ${f.sql}
       ${dims.length > 0 ? `GROUP BY ${dims.map((_, i) => i + 1).join(', ')}` : ''}
       ORDER BY count DESC, sample_seq DESC LIMIT ${MAX_GROUPS}`,
      f.params,
    ),
    pool.query<{ status: string; n: number }>(
      `SELECT coalesce(s.status, 'open') AS status, count(*)::int AS n ${from} WHERE ${all.sql} GROUP BY 1`,
      all.params,
    ),
  ]);
  const t = { open: 0, replayed: 0, discarded: 0, all: 0 };
  for (const r of totals.rows) {
    t[r.status as 'open'] = r.n;
    t.all += r.n;
  }
  return {
    by: dims,
    totals: t,
    groups: groups.rows
      .filter((r) => r.count > 0)
      .map((r) => {
        const key: DeadLetterGroup['key'] = {};
        const only: DeadLetterFilter = { ...filter };
        dims.forEach((k, i) => {
          const v = (r[`g${i}`] as string | null) ?? null;
          key[k] = v;
          if (k === 'field' || k === 'schema') only[k] = v ?? NONE;
          else if (v !== null) only[k === 'code' ? 'code' : k] = v as never;
        });
        return {
          key,
          count: r.count,
          first_seen: r.first_seen?.toISOString() ?? null,
          last_seen: r.last_seen?.toISOString() ?? null,
          sample_seq: Number(r.sample_seq),
          sample_message: r.sample_message,
          filter: only as Record<string, string>,
        };
      }),
  };
}

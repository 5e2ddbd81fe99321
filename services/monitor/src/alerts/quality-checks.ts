/**
 * Failing data-quality checks for the alert rules, read from the loader's check results
 * (`tributary.check_results`) when that table exists. Its exact columns belong to the checks
 * feature, so they are discovered: the table needs `pipeline` and `passed` (boolean) or `status`
 * (text, `fail`/`failed`/`error` count as failing), and may name the check (`check_name` or
 * `check`), the table (`table_name`), a time (`checked_at`, `run_at`, `finished_at`) and a detail.
 */
import { TRIBUTARY_SCHEMA, ident } from '@tributary/warehouse/sql';
import type { Pool } from 'pg';
import type { FailingCheck } from './alert-rules';

const TABLE = 'check_results';

/** Reads the latest result of each check and returns the failing ones; [] when there is no table. */
export async function queryFailingChecks(pool: Pool): Promise<FailingCheck[]> {
  const cols = await pool.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
    [TRIBUTARY_SCHEMA, TABLE],
  );
  const have = new Set(cols.rows.map((r) => r.column_name));
  if (!have.has('pipeline') || (!have.has('passed') && !have.has('status'))) return [];
  const pick = (...names: string[]): string | undefined => names.find((n) => have.has(n));
  const check = pick('check_name', 'check', 'name');
  const table = pick('table_name', 'table');
  const time = pick('checked_at', 'run_at', 'finished_at', 'created_at', 'at');
  const detail = pick('detail', 'message', 'details', 'error');
  const failing = have.has('passed') ? 'NOT passed' : `lower(status) IN ('fail', 'failed', 'error')`;
  const q = (c: string | undefined, fallback: string): string => (c ? `${ident(c)}::text` : fallback);
  const sql = `
    SELECT DISTINCT ON (pipeline, t, c) pipeline, t, c, d, failing FROM (
      SELECT pipeline, ${q(table, "''")} AS t, ${q(check, "'check'")} AS c, ${q(detail, "''")} AS d,
             (${failing}) AS failing ${time ? `, ${ident(time)} AS ts` : ''}
      FROM ${ident(TRIBUTARY_SCHEMA)}.${ident(TABLE)}
    ) x
    ORDER BY pipeline, t, c ${time ? ', ts DESC' : ''}`;
  const r = await pool.query<{ pipeline: string; t: string; c: string; d: string | null; failing: boolean }>(sql);
  return r.rows.filter((x) => x.failing).map((x) => ({ pipeline: x.pipeline, table: x.t, check: x.c, detail: (x.d ?? '').slice(0, 200) }));
}

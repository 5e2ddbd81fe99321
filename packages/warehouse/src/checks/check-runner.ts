/**
 * Runs checks against the warehouse and stores each result in `tributary.check_results` (the
 * latest per check is the view `tributary.check_status`). A check passes when its query returns
 * no rows; a query that fails is status `error`. Callers export the results as metrics.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { warehouseTable } from '../sql';
import type { Check } from '@tributary/contract/spec';

/** The result of one check. */
export interface CheckResult {
  pipeline: string;
  name: string;
  kind: Check['kind'];
  severity: 'warn' | 'error';
  table?: string;
  status: 'pass' | 'fail' | 'error';
  failingRows: number;
  /** Up to 5 failing rows. */
  sample: unknown[];
  error?: string;
  durationMs: number;
}

/** Whether a set of results should fail a gate: an error-severity check that failed or could not run. */
export function gateFails(results: readonly CheckResult[]): boolean {
  return results.some((r) => r.severity === 'error' && r.status !== 'pass');
}

/** Runs `checks` of `pipeline` one after another and records them under one run id. */
export async function runChecks(pool: Pool, pipeline: string, checks: readonly Check[]): Promise<CheckResult[]> {
  const runId = randomUUID();
  const results: CheckResult[] = [];
  for (const c of checks) {
    const started = Date.now();
    const of = { pipeline, name: c.name, kind: c.kind, severity: c.severity, table: c.table };
    let r: CheckResult;
    try {
      const sql = c.failingRows(warehouseTable);
      const q = await pool.query<{ n: string; sample: unknown[] }>(
        `WITH f AS MATERIALIZED (${sql})
         SELECT (SELECT count(*) FROM f) AS n, (SELECT coalesce(jsonb_agg(to_jsonb(s)), '[]'::jsonb) FROM (SELECT * FROM f LIMIT 5) s) AS sample`,
      );
      const n = Number(q.rows[0]!.n);
      r = {
        ...of,
        status: n === 0 ? 'pass' : 'fail',
        failingRows: n,
        sample: q.rows[0]!.sample,
        durationMs: Date.now() - started,
      };
    } catch (err) {
      r = {
        ...of,
        status: 'error',
        failingRows: 0,
        sample: [],
        error: (err as Error).message,
        durationMs: Date.now() - started,
      };
    }
    results.push(r);
    await pool.query(
      `INSERT INTO tributary.check_results (run_id, pipeline, check_name, table_name, kind, severity, status, failing_rows, sample, error, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        runId,
        pipeline,
        r.name,
        r.table ?? null,
        r.kind,
        r.severity,
        r.status,
        r.failingRows,
        JSON.stringify(r.sample),
        r.error ?? null,
        r.durationMs,
      ],
    );
  }
  return results;
}

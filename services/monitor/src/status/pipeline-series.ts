/**
 * What the pipeline page charts and lists, from durable state: records accepted (stream log, by
 * ingest time), loaded and load latency (ledger, by commit time), dead-lettered by stage (by
 * failure time) per time bucket; errors per stage and code; the most recent loads.
 */
import type { Pool } from 'pg';
import { toWarehouseError } from '../warehouse-error';
import type { CheckResult, ErrorGroup, PipelineSeries, RecentLoad } from '@tributary/contract/monitor-api';
export type { CheckResult, ErrorGroup, PipelineSeries, RecentLoad } from '@tributary/contract/monitor-api';

/** Picks a bucket size giving about 60 points over the range, in whole seconds. */
export function stepFor(minutes: number): number {
  const candidates = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const want = (minutes * 60) / 60;
  return candidates.find((c) => c >= want) ?? 3600;
}

const ACCEPTED_SQL = `
SELECT (floor(extract(epoch FROM ingested_at) / $2) * $2)::bigint AS b, sum(records)::bigint AS n
FROM tributary.stream_log
WHERE pipeline = $1 AND stream = 'raw' AND replay_of IS NULL AND ingested_at >= to_timestamp($3)
GROUP BY 1`;

const LOADED_SQL = `
SELECT (floor(extract(epoch FROM loaded_at) / $2) * $2)::bigint AS b, sum(records)::bigint AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM loaded_at - ingested_at)) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM loaded_at - ingested_at)) AS p95,
       max(extract(epoch FROM loaded_at - ingested_at))::float8 AS max
FROM tributary.load_ledger
WHERE pipeline = $1 AND loaded_at >= to_timestamp($3)
GROUP BY 1`;

const DEAD_SQL = `
SELECT (floor(extract(epoch FROM coalesce(failed_at, logged_at)) / $2) * $2)::bigint AS b, stage, count(*)::bigint AS n
FROM tributary.dead_letters
WHERE pipeline = $1 AND coalesce(failed_at, logged_at) >= to_timestamp($3)
GROUP BY 1, 2`;

/** Reads the series of the last `minutes` minutes. */
export async function queryPipelineSeries(pool: Pool, pipeline: string, minutes: number, nowMs = Date.now()): Promise<PipelineSeries> {
  const step = stepFor(minutes);
  const end = Math.floor(nowMs / 1000 / step) * step;
  const start = end - Math.ceil((minutes * 60) / step) * step + step;
  const t: number[] = [];
  for (let b = start; b <= end; b += step) t.push(b);
  const index = new Map(t.map((b, i) => [b, i]));
  const zeros = (): number[] => t.map(() => 0);
  const nulls = (): (number | null)[] => t.map(() => null);
  const out: PipelineSeries = {
    step_seconds: step,
    t,
    accepted: zeros(),
    loaded: zeros(),
    dead_lettered: { ingest: zeros(), transform: zeros(), load: zeros() },
    latency: { p50: nulls(), p95: nulls(), max: nulls() },
  };
  // The newest bucket is still filling: divide it by the seconds that have passed, not the step.
  const nowSec = nowMs / 1000;
  const perSecond = (n: string | number, b: number): number =>
    Math.round((Number(n) / (b === end ? Math.max(1, Math.min(step, nowSec - end)) : step)) * 100) / 100;
  try {
    const [acc, loaded, dead] = await Promise.all([
      pool.query<{ b: string; n: string }>(ACCEPTED_SQL, [pipeline, step, start]),
      pool.query<{ b: string; n: string; p50: number; p95: number; max: number }>(LOADED_SQL, [pipeline, step, start]),
      pool.query<{ b: string; stage: string; n: string }>(DEAD_SQL, [pipeline, step, start]),
    ]);
    for (const r of acc.rows) {
      const i = index.get(Number(r.b));
      if (i !== undefined) out.accepted[i] = perSecond(r.n, Number(r.b));
    }
    for (const r of loaded.rows) {
      const i = index.get(Number(r.b));
      if (i === undefined) continue;
      out.loaded[i] = perSecond(r.n, Number(r.b));
      out.latency.p50[i] = Math.max(0, r.p50);
      out.latency.p95[i] = Math.max(0, r.p95);
      out.latency.max[i] = Math.max(0, r.max);
    }
    for (const r of dead.rows) {
      const i = index.get(Number(r.b));
      const series = out.dead_lettered[r.stage as keyof PipelineSeries['dead_lettered']];
      if (i !== undefined && series) series[i] = perSecond(r.n, Number(r.b));
    }
    return out;
  } catch (err) {
    throw toWarehouseError(err, 'cannot read pipeline series');
  }
}

/** Dead letters grouped by stage, name and code, with how many are still open. */
export async function queryErrorGroups(pool: Pool, pipeline: string): Promise<ErrorGroup[]> {
  try {
    const r = await pool.query<{
      stage: string;
      name: string;
      code: string | null;
      count: string;
      open: string;
      last: Date | null;
      example: string | null;
    }>(
      `SELECT d.stage, d.name, d.error_code AS code, count(*)::bigint AS count,
              count(*) FILTER (WHERE s.seq IS NULL)::bigint AS open,
              max(coalesce(d.failed_at, d.logged_at)) AS last,
              (array_agg(d.error_message ORDER BY d.seq DESC))[1] AS example
       FROM tributary.dead_letters d LEFT JOIN tributary.dead_letter_state s ON s.seq = d.seq
       WHERE d.pipeline = $1
       GROUP BY 1, 2, 3
       ORDER BY count(*) DESC
       LIMIT 50`,
      [pipeline],
    );
    return r.rows.map((x) => ({
      stage: x.stage,
      name: x.name,
      code: x.code,
      count: Number(x.count),
      open: Number(x.open),
      last_failed_at: x.last?.toISOString() ?? null,
      example: x.example,
    }));
  } catch (err) {
    throw toWarehouseError(err, 'cannot read dead-letter groups');
  }
}

/** The most recent loader flushes of a pipeline, newest first. */
export async function queryRecentLoads(pool: Pool, pipeline: string, limit = 20): Promise<RecentLoad[]> {
  try {
    // Only the newest ledger rows are grouped: the index on (pipeline, loaded_at) keeps it cheap.
    const r = await pool.query<{
      table_name: string;
      loaded_at: Date;
      messages: string;
      records: string;
      written: string;
      skipped: string;
      first_seq: string | null;
      last_seq: string | null;
      max_latency: number | null;
    }>(
      `WITH recent AS (
         SELECT * FROM tributary.load_ledger WHERE pipeline = $1 ORDER BY loaded_at DESC LIMIT 5000
       )
       SELECT table_name, loaded_at, count(*)::bigint AS messages, sum(records)::bigint AS records,
              sum(written)::bigint AS written, sum(skipped)::bigint AS skipped,
              min(stream_seq) AS first_seq, max(stream_seq) AS last_seq,
              max(extract(epoch FROM loaded_at - ingested_at))::float8 AS max_latency
       FROM recent GROUP BY table_name, loaded_at ORDER BY loaded_at DESC LIMIT $2`,
      [pipeline, limit],
    );
    return r.rows.map((x) => ({
      table: x.table_name,
      loaded_at: x.loaded_at.toISOString(),
      messages: Number(x.messages),
      records: Number(x.records),
      written: Number(x.written),
      skipped: Number(x.skipped),
      first_seq: x.first_seq === null ? null : Number(x.first_seq),
      last_seq: x.last_seq === null ? null : Number(x.last_seq),
      max_latency_seconds: x.max_latency === null ? null : Math.max(0, Math.round(x.max_latency * 1000) / 1000),
    }));
  } catch (err) {
    throw toWarehouseError(err, 'cannot read recent loads');
  }
}

/** Latest result per check, failing first; [] when the checks table does not exist (yet). */
export async function queryCheckResults(pool: Pool, pipeline: string): Promise<CheckResult[]> {
  try {
    const exists = await pool.query<{ t: string | null }>("SELECT to_regclass('tributary.check_results')::text AS t");
    if (!exists.rows[0]?.t) return [];
    const r = await pool.query<{
      check_name: string;
      table_name: string | null;
      kind: string;
      severity: string;
      status: string;
      failing_rows: string;
      error: string | null;
      checked_at: Date;
    }>(
      `SELECT * FROM (
         SELECT DISTINCT ON (check_name) check_name, table_name, kind, severity, status, failing_rows, error, checked_at
         FROM tributary.check_results WHERE pipeline = $1 ORDER BY check_name, checked_at DESC
       ) latest ORDER BY (status = 'pass'), check_name`,
      [pipeline],
    );
    return r.rows.map((x) => ({
      check: x.check_name,
      table: x.table_name,
      kind: x.kind,
      severity: x.severity,
      status: x.status,
      failing_rows: Number(x.failing_rows),
      error: x.error,
      checked_at: x.checked_at.toISOString(),
    }));
  } catch (err) {
    throw toWarehouseError(err, 'cannot read check results');
  }
}

/**
 * Runs a set of a report's queries for one set of input values and builds the charts that draw
 * them. Each query's failure stays in its own entry (the page shows it in the tiles that use
 * it), so one slow or broken query never breaks the others. Pages open on the same report and
 * inputs share one run: results are cached by (report version, query, inputs, data version),
 * where the data version is what the page saw of the loads in the live feed.
 */
import { isTributaryError, toTributaryError, type Report } from '@tributary/contract';
import type { Pool } from 'pg';
import { renderReportHtml } from './build-report';
import { chartOption, CHART_KINDS } from './chart-options';
import { runQuery, type InputValues, type QueryLimits, type QueryResult } from './query-runner';

/** One query's outcome. */
export type QueryOutcome = QueryResult | { error: { code: string; message: string; line?: number } };

/** What a page gets for one refresh. */
export interface ReportData {
  ran_at: string;
  results: Record<string, QueryOutcome>;
  /** ECharts options of the chart components whose query ran, or their error. */
  charts: Record<string, { option: Record<string, unknown> } | { error: { code: string; message: string; line?: number } }>;
}

function errorOf(err: unknown): { code: string; message: string; line?: number } {
  const e = toTributaryError(err);
  return { code: e.code, message: e.message, line: e.location.line };
}

const MAX_CACHED = 256;

/** Runs report queries with a small shared cache. */
export class ReportRunner {
  private readonly cache = new Map<string, Promise<QueryResult>>();

  constructor(
    private readonly pool: Pool,
    private readonly limits: QueryLimits,
  ) {}

  private run(report: Report, version: number, query: string, values: InputValues, dataVersion: string): Promise<QueryResult> {
    const key = JSON.stringify([report.file, version, query, values, dataVersion]);
    let p = this.cache.get(key);
    if (!p) {
      p = runQuery(this.pool, report, query, values, this.limits);
      this.cache.set(key, p);
      // Failures are not kept: the next refresh tries again.
      p.catch(() => this.cache.delete(key));
      if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    }
    return p;
  }

  /** The report as one self-contained HTML document, with the inputs of the query string. */
  snapshot(report: Report, query: Record<string, string>): Promise<string> {
    return renderReportHtml(this.pool, report, this.limits, query);
  }

  /** Runs `queries` (all of the report's when empty) and builds their charts. */
  async data(report: Report, version: number, queries: string[], values: InputValues, dataVersion = ''): Promise<ReportData> {
    const names = queries.length > 0 ? queries.filter((q) => report.queries[q]) : Object.keys(report.queries);
    const results: ReportData['results'] = {};
    await Promise.all(
      names.map(async (q) => {
        try {
          results[q] = await this.run(report, version, q, values, dataVersion);
        } catch (err) {
          results[q] = { error: errorOf(err) };
        }
      }),
    );
    const charts: ReportData['charts'] = {};
    for (const c of report.components) {
      const r = results[c.options.query];
      if (!CHART_KINDS.has(c.kind) || !r) continue;
      if ('error' in r) charts[c.id] = { error: r.error };
      else
        try {
          charts[c.id] = { option: chartOption(c, r, report.file) };
        } catch (err) {
          if (!isTributaryError(err)) throw err;
          charts[c.id] = { error: errorOf(err) };
        }
    }
    return { ran_at: new Date().toISOString(), results, charts };
  }
}

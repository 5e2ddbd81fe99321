/**
 * Runs a set of a report's queries for one set of input values and builds the charts that draw
 * them. Each query's failure stays in its own entry (the page shows it in the tiles that use
 * it), so one slow or broken query never breaks the others. Every page and viewer of the monitor
 * shares one run per (report version, query, inputs) and per state of the loads into the tables
 * the query reads; loads re-run it at most as often as the refresh policy allows
 * (refresh-policy.ts), and the rows served say how current they are.
 */
import { isTributaryError, toTributaryError } from '@tributary/contract/errors';
import { watchedTables, type Report, type WatchedTable } from '@tributary/contract/reports';
import type { Pool } from 'pg';
import { renderReportHtml } from './build-report';
import { chartOption, CHART_KINDS } from './chart-options';
import { runQuery, type InputValues, type QueryLimits } from './query-runner';
import { SharedResults, type LoadState, type RefreshPolicy, type Served } from './refresh-policy';

/** One query's outcome. */
export type QueryOutcome = Served;

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

/** What a table's loads look like now (the monitor's status snapshot), by `pipeline.table`. */
export interface TableLoad {
  loaded: number;
  last_loaded_at: string | null;
  newest_ingested_at: string | null;
}

/** How the runner learns about loads and how often it may re-run queries. */
export interface ReportRunnerOptions {
  /** The loads of every table, by `pipeline.table` (absent: every request runs its queries). */
  loads?: () => Promise<Map<string, TableLoad>>;
  /** Relations and the tables feeding them (models count as every table of their pipeline). */
  feeds: () => Map<string, WatchedTable[]>;
  /** The monitor's refresh policy; a report's front matter may override it. */
  policy: RefreshPolicy;
  /** Share of one connection's time re-runs caused by loads may take, all reports together. */
  share: number;
}

const MAX_CACHED = 256;

/** Runs report queries, one run shared by every viewer of the same report, query, inputs and loads. */
export class ReportRunner {
  readonly shared: SharedResults;
  private noLoads = 0;

  constructor(
    private readonly pool: Pool,
    private readonly limits: QueryLimits,
    private readonly opts: ReportRunnerOptions,
  ) {
    this.shared = new SharedResults({ share: opts.share, maxEntries: MAX_CACHED });
  }

  /** The loads state of the tables a query reads. */
  private async loadState(tables: WatchedTable[]): Promise<LoadState> {
    // Without a view of the loads, every request is a new state (runs every time, as tests without a monitor need).
    if (!this.opts.loads) return { signature: String(++this.noLoads), newestIngestedMs: null };
    const all = await this.opts.loads();
    let newest: number | null = null;
    const parts = tables.map((t) => {
      const l = all.get(`${t.pipeline}.${t.table}`);
      if (l?.newest_ingested_at) newest = Math.max(newest ?? 0, Date.parse(l.newest_ingested_at));
      return `${t.pipeline}.${t.table}:${l?.loaded ?? 0}:${l?.last_loaded_at ?? ''}`;
    });
    return { signature: parts.join('|'), newestIngestedMs: newest };
  }

  /** The refresh policy of a report: its front matter's, else the monitor's. */
  private policy(report: Report): RefreshPolicy {
    return {
      floorMs: report.front?.refresh_floor ?? this.opts.policy.floorMs,
      factor: report.front?.refresh_factor ?? this.opts.policy.factor,
    };
  }

  private run(report: Report, version: number, query: string, values: InputValues): Promise<Served> {
    const key = JSON.stringify([report.file, version, query, values]);
    const tables = watchedTables(report.queries[query]!.sql, this.opts.feeds());
    return this.shared.get(
      key,
      () => this.loadState(tables),
      this.policy(report),
      (background) => runQuery(this.pool, report, query, values, background ? { ...this.limits, serial: true } : this.limits),
      errorOf,
    );
  }

  /** Stops the refresh lane. */
  close(): void {
    this.shared.close();
  }

  /** The report as one self-contained HTML document, with the inputs of the query string. */
  snapshot(report: Report, query: Record<string, string>): Promise<string> {
    return renderReportHtml(this.pool, report, this.limits, query);
  }

  /** Runs `queries` (all of the report's when empty) and builds their charts. */
  async data(report: Report, version: number, queries: string[], values: InputValues): Promise<ReportData> {
    const names = queries.length > 0 ? queries.filter((q) => report.queries[q]) : Object.keys(report.queries);
    const results: ReportData['results'] = {};
    await Promise.all(
      names.map(async (q) => {
        try {
          results[q] = await this.run(report, version, q, values);
        } catch (err) {
          results[q] = { error: errorOf(err), ran_at: new Date().toISOString() };
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

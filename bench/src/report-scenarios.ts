/**
 * The reports' performance goals (docs/reports.md), measured against the real monitor in headless
 * Chromium over the bench pipeline's fact table with `BENCH_REPORT_ROWS` rows put in by COPY:
 *
 * - `report`: the ten-tile report `bench/reports/passages.md` opened cold (fresh monitor, fresh
 *   browser profile) and warm (a second page), first paint and every tile's data (see
 *   report-browser.ts), against the same queries run directly with `pg` in the same run;
 * - `report-load`: the pipeline at a steady offered rate and at full load, with no report page
 *   open, then five (live updates on) in a browser running as it is, then five in a browser under
 *   SCHED_IDLE (it gets only CPU the pipeline leaves: the pages' cost to the pipeline without their
 *   browser's, which on a viewer's own machine would not share the pipeline's cores), then none
 *   again. Each phase says what the browser took: its processes' CPU and each page's main thread.
 *
 * Longer than 300 lines because both scenarios share the fact table's fill, the monitor's settle
 * wait and the report's file, and their bench tables read their results' shapes.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline as pump } from 'node:stream/promises';
import path from 'node:path';
import { bindSql, parseReport } from '@tributary/contract/reports';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyLine, PASSAGE_COPY_COLUMNS } from './baselines';
import { treeCpuSeconds } from './proc-stats';
import { costSince, openReport, PageProbe, ReportBrowser, refreshCounts, type PageCost, type PageMarks } from './report-browser';
import { BenchStack, migrate, PIPELINE_SERVICES, ROOT } from './stack';
import { fullPush, steadyPush, type SteadyResult } from './steady';

type Env = Record<string, string>;

const REPORTS = path.join(ROOT, 'bench/reports');
const REPORT = 'passages';
/** Connections the direct queries use: the monitor's default report pool (MONITOR_REPORTS_DB_POOL). */
const POOL = 4;

/** What the `report` scenario measured. */
export interface ReportResult {
  rows: number;
  /** The report's queries run directly with pg, all of them, `POOL` at a time: wall ms, first and second run. */
  sqlMs: { first: number; second: number; perQuery: Record<string, number> };
  cold: PageMarks;
  warm: PageMarks;
  /** Cold page, every tile's data, over the direct queries' first run. */
  coldVsSql: number;
}

/** How the browser of a phase ran: as it is, or under SCHED_IDLE (only CPU nothing else wants). */
export type BrowserScheduling = 'as is' | 'SCHED_IDLE';

/** One phase of the `report-load` scenario. */
export interface LoadPhase {
  pages: number;
  /** The browser's scheduling (phases with pages). */
  browser?: BrowserScheduling;
  /** One-minute load average of the machine as the phase started. */
  loadAverage: number;
  steady: SteadyResult;
  full: { records: number; seconds: number; perSecond: number };
  /** CPU seconds over the phase: the monitor, Chromium (all its processes), PostgreSQL. */
  cpuSeconds: Record<string, number>;
  /** Live refreshes each page made during the phase. */
  refreshes: number[];
  /** Main-thread seconds of each page's renderer over the phase (CDP Performance.getMetrics). */
  pageMainThread: PageCost[];
}

export interface ReportLoadResult {
  rows: number;
  phases: LoadPhase[];
  /** Throughput lost with the pages open against the mean of the phases without, in percent, per browser scheduling. */
  costPct: Record<BrowserScheduling, { steadyCommitted: number; full: number }>;
}

/** Where `BENCH_REPORT_PAGE_PROF` asks for a V8 profile of the first page of each phase with pages (it costs CPU: not for figures). */
const PAGE_PROF_DIR = process.env.BENCH_REPORT_PAGE_PROF;

/**
 * Makes the fact table hold exactly `rows` passages over the last 24 hours, put in with COPY
 * (rows pushed by earlier scenarios are deleted; those of an earlier fill are kept), then ANALYZE. Untimed.
 */
export async function fillFactTable(db: Client, rows: number): Promise<void> {
  await db.query(`DELETE FROM warehouse.fact_passage WHERE _msg_id <> 'prefill'`);
  let have = Number((await db.query('SELECT count(*) AS n FROM warehouse.fact_passage')).rows[0].n);
  if (have > rows) {
    await db.query('TRUNCATE warehouse.fact_passage');
    have = 0;
  }
  const start = Date.now() - 86_400_000;
  const step = 86_400_000 / rows;
  const chunk = 50_000;
  for (let s = have; s < rows; s += chunk) {
    const lines: string[] = [];
    for (let i = s; i < Math.min(rows, s + chunk); i++) {
      const mph = 30 + ((i * 37) % 53) + 0.5;
      lines.push(
        copyLine([
          `prefill-${i}`,
          `G${String((i % 20) + 1).padStart(3, '0')}`,
          `AB${(i * 7919) % 100000}XY`,
          Math.round(mph * 16.09344) / 10,
          (i % 4) + 1,
          (i % 5) + 1,
          new Date(start + i * step).toISOString(),
          'prefill',
          new Date().toISOString(),
        ]),
      );
    }
    await pump(Readable.from([lines.join('')]), db.query(copyFrom(`COPY warehouse.fact_passage ${PASSAGE_COPY_COLUMNS} FROM STDIN`)));
  }
  await db.query('VACUUM ANALYZE warehouse.fact_passage');
}

/** The environment of the monitor serving the bench reports (and of the pipeline, same variables). */
function reportEnv(base: Env): Env {
  return { ...base, TRIBUTARY_REPORTS: REPORTS };
}

/** Runs every query of the report with its inputs' defaults (dropdowns: All), directly with pg, POOL at a time. */
async function directQueries(databaseUrl: string): Promise<{ ms: number; perQuery: Record<string, number> }> {
  const file = path.join(REPORTS, `${REPORT}.md`);
  const report = parseReport(file, REPORT, readFileSync(file, 'utf8'));
  if (report.problems.length > 0) throw new Error(`${file}: ${report.problems.map((p) => `${p.line}: ${p.message}`).join('; ')}`);
  const kinds = Object.fromEntries(Object.entries(report.inputs).map(([k, v]) => [k, v.kind]));
  if (Object.values(kinds).some((k) => k !== 'dropdown')) throw new Error(`${file}: the bench binds dropdowns only (to All)`);
  const queue = Object.values(report.queries);
  const perQuery: Record<string, number> = {};
  const clients = await Promise.all(
    Array.from({ length: POOL }, async () => {
      const c = new Client({ connectionString: databaseUrl });
      await c.connect();
      await c.query(`SET search_path TO warehouse; SET TimeZone TO 'UTC'`);
      return c;
    }),
  );
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      for (let q = queue.shift(); q; q = queue.shift()) {
        const bound = bindSql(q.sql, kinds);
        const started = performance.now();
        await c.query(
          bound.text,
          bound.params.map(() => null),
        );
        perQuery[q.name] = Math.round(performance.now() - started);
      }
    }),
  );
  const ms = performance.now() - t0;
  await Promise.all(clients.map((c) => c.end()));
  return { ms, perQuery };
}

const reportUrl = (stack: BenchStack): string => `http://127.0.0.1:${stack.ports.get('monitor')}/reports/${REPORT}`;

/**
 * Waits until a fresh monitor has folded the load history of earlier scenarios: its overview's
 * tables of the bench pipeline read the same twice, a second apart. Until then every overview
 * is a new data version, so each would re-run the report's queries.
 */
export async function monitorSettled(stack: BenchStack, timeoutMs = 300_000): Promise<void> {
  const tables = async (): Promise<string> => {
    const r = await fetch(`http://127.0.0.1:${stack.ports.get('monitor')}/api/overview`);
    const o = (await r.json()) as { pipelines: { name: string; tables: unknown }[] };
    return JSON.stringify(o.pipelines.find((p) => p.name === 'bench')?.tables ?? null);
  };
  const end = Date.now() + timeoutMs;
  let last = await tables();
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await tables();
    if (now === last) return;
    if (Date.now() > end) throw new Error('the monitor did not settle (its overview of the bench tables kept changing)');
    last = now;
  }
}

/** `report`: first paint and every tile's data, cold and warm, against the queries run directly. */
export async function reportScenario(databaseUrl: string, db: Client, base: Env, rows: number): Promise<ReportResult> {
  const env = reportEnv(base);
  migrate(env, ['--roles']);
  await fillFactTable(db, rows);
  const first = await directQueries(databaseUrl);
  const second = await directQueries(databaseUrl);
  const stack = await BenchStack.start(env, 'report', 1, ['monitor']);
  const browser = await ReportBrowser.launch();
  try {
    await monitorSettled(stack);
    const context = await browser.newContext();
    const cold = await openReport(context, reportUrl(stack));
    await cold.page.close();
    const warm = await openReport(context, reportUrl(stack));
    await context.close();
    return {
      rows,
      sqlMs: { first: first.ms, second: second.ms, perQuery: first.perQuery },
      cold: cold.marks,
      warm: warm.marks,
      coldVsSql: cold.marks.allData / first.ms,
    };
  } finally {
    await browser.close();
    await stack.stop();
  }
}

/** `report-load`: the pipeline with 0, then `pages`, then 0 report pages open. */
export async function reportLoadScenario(
  db: Client,
  base: Env,
  opts: { rows: number; rate: number; seconds: number; fullRecords: number; pages: number; postgresPid: number },
): Promise<ReportLoadResult> {
  const env = reportEnv(base);
  migrate(env, ['--roles']);
  await fillFactTable(db, opts.rows);
  const stack = await BenchStack.start(env, 'report-load', 1, [...PIPELINE_SERVICES, 'monitor']);
  const browser = await ReportBrowser.launch();
  const cpu = (): Record<string, number> => ({
    monitor: stack.cpu().monitor!,
    chromium: treeCpuSeconds(browser.pid),
    postgres: treeCpuSeconds(opts.postgresPid),
  });
  const phases: LoadPhase[] = [];
  try {
    // Warm-up: the first requests of a fresh stack compile code paths; not measured.
    await fullPush(db, stack, Math.min(opts.fullRecords, 20_000));
    await monitorSettled(stack);
    const plan: { pages: number; browser?: BrowserScheduling }[] = [
      { pages: 0 },
      { pages: opts.pages, browser: 'as is' },
      { pages: opts.pages, browser: 'SCHED_IDLE' },
      { pages: 0 },
    ];
    for (const { pages, browser: scheduling } of plan) {
      // Each page in a profile of its own, as five viewers: tabs of one browser share its six
      // connections to the monitor, and each page's live feed holds one of them.
      const contexts = await Promise.all(Array.from({ length: pages }, () => browser.newContext()));
      const open = [];
      for (const context of contexts) open.push((await openReport(context, reportUrl(stack))).page);
      const probes = await Promise.all(open.map((p) => PageProbe.attach(p)));
      if (scheduling === 'SCHED_IDLE') {
        browser.schedule(true);
        const t = browser.idleThreads();
        if (t.idle !== t.all) throw new Error(`only ${t.idle} of Chromium's ${t.all} threads went under SCHED_IDLE`);
      }
      const profiled = PAGE_PROF_DIR && probes[0] ? probes[0] : undefined;
      await profiled?.startProfile();
      const refreshes0 = await refreshCounts(open);
      const main0 = await Promise.all(probes.map((p) => p.cost()));
      const loadAverage = loadavg()[0]!;
      const cpu0 = cpu();
      const steady = await steadyPush(db, stack, opts.rate, opts.seconds);
      const full = await fullPush(db, stack, opts.fullRecords);
      const cpu1 = cpu();
      // Back to normal first: a starved renderer would answer the readings below only slowly.
      if (scheduling === 'SCHED_IDLE') browser.schedule(false);
      const main1 = await Promise.all(probes.map((p) => p.cost()));
      const refreshes1 = await refreshCounts(open);
      if (profiled) {
        mkdirSync(PAGE_PROF_DIR!, { recursive: true });
        await profiled.stopProfile(
          path.join(PAGE_PROF_DIR!, `report-load-page-${scheduling === 'SCHED_IDLE' ? 'idle' : 'as-is'}.cpuprofile`),
        );
      }
      await Promise.all(contexts.map((c) => c.close()));
      phases.push({
        pages,
        browser: scheduling,
        loadAverage,
        steady,
        full,
        cpuSeconds: Object.fromEntries(Object.keys(cpu0).map((k) => [k, cpu1[k]! - cpu0[k]!])),
        refreshes: refreshes1.map((n, i) => n - refreshes0[i]!),
        pageMainThread: main1.map((m, i) => costSince(main0[i]!, m)),
      });
    }
  } finally {
    await browser.close();
    await stack.stop();
  }
  const without = phases.filter((p) => p.pages === 0);
  const mean = (f: (p: LoadPhase) => number): number => without.reduce((a, p) => a + f(p), 0) / without.length;
  const costs = (scheduling: BrowserScheduling): { steadyCommitted: number; full: number } => {
    const withPages = phases.find((p) => p.browser === scheduling)!;
    const cost = (f: (p: LoadPhase) => number): number => (1 - f(withPages) / mean(f)) * 100;
    return { steadyCommitted: cost((p) => p.steady.committed), full: cost((p) => p.full.perSecond) };
  };
  return { rows: opts.rows, phases, costPct: { 'as is': costs('as is'), SCHED_IDLE: costs('SCHED_IDLE') } };
}

const ms = (n: number): string => `${Math.round(n).toLocaleString('en-US')} ms`;
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The `report` scenario's lines of the bench table. */
export function reportTable(r: ReportResult): string[] {
  const row = (name: string, m: PageMarks): string => `| ${name} | ${ms(m.fcp)} | ${ms(m.tiles)} | ${ms(m.firstData)} | ${ms(m.allData)} |`;
  return [
    `Report \`bench/reports/${REPORT}.md\` (${r.cold.tileCount} tiles) over ${int(r.rows)} rows, headless Chromium, ms from navigation start:`,
    '',
    '| open | first contentful paint | tiles in the page | first tile with data | every tile with data |',
    '|---|---:|---:|---:|---:|',
    row('cold (fresh monitor and profile)', r.cold),
    row('warm (second page)', r.warm),
    '',
    `The same queries directly with pg (${POOL} connections): ${ms(r.sqlMs.first)}, again ${ms(r.sqlMs.second)}; slowest ${Object.entries(
      r.sqlMs.perQuery,
    )
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([q, n]) => `${q} ${ms(n)}`)
      .join(', ')}. Cold page, every tile with data: ${r.coldVsSql.toFixed(2)}× the direct queries.`,
  ];
}

/** The `report-load` scenario's lines of the bench table. */
export function reportLoadTable(r: ReportLoadResult): string[] {
  const pageMain = (p: LoadPhase): string => {
    if (p.pageMainThread.length === 0) return '-';
    const task = p.pageMainThread.map((c) => c.task);
    const script = p.pageMainThread.reduce((a, c) => a + c.script, 0) / task.length;
    return `${(task.reduce((a, b) => a + b, 0) / task.length).toFixed(2)} (script ${script.toFixed(2)})`;
  };
  const costLine = (s: BrowserScheduling, what: string): string =>
    `${what}: ${r.costPct[s].steadyCommitted.toFixed(1)}% of the committed rate at the steady offered load, ${r.costPct[s].full.toFixed(1)}% of the full-load throughput`;
  return [
    `The pipeline with report pages open (the report over ${int(r.rows)}+ rows, live updates on), phase by phase:`,
    '',
    '| pages open | browser | load avg | steady: offered/s | committed/s | p50/p99 ms | full load records/s | CPU s: monitor / Chromium / PostgreSQL | main thread s per page | live refreshes per page |',
    '|---:|---|---:|---:|---:|---:|---:|---|---:|---|',
    ...r.phases.map(
      (p) =>
        `| ${p.pages} | ${p.browser ?? '-'} | ${p.loadAverage.toFixed(1)} | ${int(p.steady.achieved)} | ${int(p.steady.committed)} | ${int(p.steady.p50)}/${int(p.steady.p99)} | ${int(p.full.perSecond)} | ${['monitor', 'chromium', 'postgres'].map((k) => (p.cpuSeconds[k] ?? 0).toFixed(1)).join(' / ')} | ${pageMain(p)} | ${p.refreshes.join(', ') || '-'} |`,
    ),
    '',
    `Cost of the open pages against the mean of the phases without: ${costLine('as is', 'with their browser as it is')}; ${costLine('SCHED_IDLE', 'with their browser under SCHED_IDLE')}.`,
  ];
}

/**
 * The reports folder, kept current: every `*.md` parsed at start, and again whenever it changes
 * on disk (a new, edited or deleted file is picked up without a restart). A broken file stays
 * listed with its problems, so its page shows them; the other reports go on working. With a
 * database, each query is also checked against the warehouse (`LIMIT 0`, as the reader role),
 * which finds unknown tables and columns with their line, and component columns the query
 * does not return.
 */
import { existsSync, readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { isTributaryError } from '@tributary/contract/errors';
import { checkComponentColumns, knownRelations, parseReport, type Report } from '@tributary/contract/reports';
import { type Pipeline } from '@tributary/contract/spec';
import type { Logger } from '@tributary/runtime/logger';
import type { Pool } from 'pg';
import type { WatchedTable } from '@tributary/contract/reports';
import { describeQuery, type QueryLimits } from './query-runner';

/** Options of the registry. */
export interface ReportRegistryOptions {
  dir: string;
  pipelines: readonly Pipeline[];
  logger: Logger;
  /** When given, queries are checked against the warehouse after each load. */
  pool?: Pool;
  limits: QueryLimits;
}

/** Loads, watches and checks the report files. */
export class ReportRegistry {
  private readonly reports = new Map<string, Report>();
  private readonly versions = new Map<string, number>();
  private readonly known: ReturnType<typeof knownRelations>;
  private watcher: FSWatcher | undefined;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private checking: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ReportRegistryOptions) {
    this.known = knownRelations(opts.pipelines);
  }

  /** Relations and the tables feeding them. */
  get feeds(): Map<string, WatchedTable[]> {
    return this.known.feeds;
  }

  /** Parses every report and starts watching the folder. */
  start(): void {
    if (!existsSync(this.opts.dir)) {
      this.opts.logger.info({ dir: this.opts.dir }, 'reports: no reports folder');
      return;
    }
    for (const f of readdirSync(this.opts.dir)) if (f.endsWith('.md')) this.load(f);
    // One watcher on the folder: editors replace files (rename) as often as they write them.
    this.watcher = watch(this.opts.dir, (_event, file) => {
      if (!file || !file.endsWith('.md')) return;
      clearTimeout(this.timers.get(file));
      this.timers.set(
        file,
        setTimeout(() => (this.timers.delete(file), this.load(file)), 50),
      );
    });
    this.watcher.on('error', (err) => this.opts.logger.warn({ err }, 'reports: watching the folder failed'));
  }

  /** Stops watching. */
  stop(): void {
    this.watcher?.close();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Waits for the warehouse checks started so far (tests, `validate`). */
  async settled(): Promise<void> {
    for (let before = this.checking; ; before = this.checking) {
      await before;
      if (before === this.checking) return;
    }
  }

  /** Every report, by name. */
  list(): Report[] {
    return [...this.reports.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One report. */
  get(name: string): Report | undefined {
    return this.reports.get(name);
  }

  /** A number that changes whenever the report's file is parsed again (cache keys). */
  version(name: string): number {
    return this.versions.get(name) ?? 0;
  }

  private load(file: string): void {
    const name = file.slice(0, -3);
    const full = path.join(this.opts.dir, file);
    let text: string;
    try {
      text = readFileSync(full, 'utf8');
    } catch {
      if (this.reports.delete(name)) this.opts.logger.info({ report: name }, 'report removed');
      return;
    }
    const report = parseReport(full, name, text, this.known);
    const version = (this.versions.get(name) ?? 0) + 1;
    this.versions.set(name, version);
    this.reports.set(name, report);
    this.opts.logger.info(
      { report: name, problems: report.problems.length },
      report.problems.length ? 'report loaded with problems' : 'report loaded',
    );
    if (this.opts.pool) {
      const pool = this.opts.pool;
      this.checking = this.checking.then(() => checkAgainstWarehouse(pool, report, this.opts.limits)).catch(() => undefined);
    }
  }
}

/** Checks every query against the warehouse and every component's columns against the query's; adds problems. */
export async function checkAgainstWarehouse(pool: Pool, report: Report, limits: QueryLimits): Promise<void> {
  const columns = new Map<string, string[]>();
  for (const q of Object.values(report.queries)) {
    try {
      columns.set(q.name, await describeQuery(pool, report, q, limits));
    } catch (err) {
      if (!isTributaryError(err, 'TRIB_E_REPORT_QUERY')) return; // warehouse unreachable: nothing to say about the report
      report.problems.push({
        file: report.file,
        line: err.location.line ?? q.line,
        message: err.message.replace(/^query \S+ \([^)]*\): /, `query ${q.name}: `),
      });
    }
  }
  checkComponentColumns(report, columns);
  report.problems.sort((a, b) => a.line - b.line);
}

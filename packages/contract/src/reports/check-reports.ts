/**
 * `tributary validate`'s check of the reports folder, without a database: every file parsed and
 * checked against the loaded pipelines (front matter, components and options, inputs used but not
 * declared, tables that do not exist). Columns are checked offline by the warehouse package
 * (`checkReportColumns`, which parses SQL); the monitor also checks each query in the warehouse
 * when it loads a report, and shows those problems on the report's page.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Pipeline } from '../spec/pipeline';
import { parseReport } from './parse-report';
import { knownRelations } from './report-relations';
import type { Report } from './report-spec';

/** Parses and checks every report in `dir` (none when the folder does not exist). */
export function checkReports(dir: string, pipelines: readonly Pipeline[]): Report[] {
  if (!existsSync(dir)) return [];
  const known = knownRelations(pipelines);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => parseReport(path.join(dir, f), f.slice(0, -3), readFileSync(path.join(dir, f), 'utf8'), known));
}

/** Problems as `file:line: message` lines (file relative to `cwd`). */
export function formatReportProblems(reports: readonly Report[], cwd = process.cwd()): string[] {
  return reports.flatMap((r) => r.problems.map((p) => `${path.relative(cwd, p.file)}:${p.line}: ${p.message}`));
}

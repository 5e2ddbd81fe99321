/**
 * `tributary validate [path]`: loads and checks pipeline specs and the reports folder without
 * running anything or a database: report front matter, components, inputs, and the tables and
 * columns each query names against what the pipelines declare (tables, generated dimensions, SQL
 * models; `checkReportColumns`). Exit 1 when a report has a problem, each printed as `file:line: message`.
 */
import { checkReports, formatReportProblems, reportsDir } from '@tributary/contract/reports';
import { loadPipelines } from '@tributary/contract/spec';
import { checkReportColumns } from '@tributary/warehouse/report-columns';
import type { Command } from '../command';

/** The `validate` command. */
export const validateCommand: Command = {
  name: 'validate',
  args: '[path]',
  summary: 'check pipeline specs (default: $TRIBUTARY_PIPELINES or ./pipelines) and reports ($TRIBUTARY_REPORTS)',
  async run(args, { env, out }) {
    const dir = args.find((a) => !a.startsWith('--')) ?? env.TRIBUTARY_PIPELINES;
    const pipelines = loadPipelines(dir);
    for (const p of pipelines)
      out(
        `ok ${p.file}: pipeline ${p.name}, ${Object.keys(p.sources).length} sources, ${p.datasets.length} datasets, ${p.tables.length} tables`,
      );
    const reports = checkReports(reportsDir({ TRIBUTARY_REPORTS: env.TRIBUTARY_REPORTS, TRIBUTARY_PIPELINES: dir }), pipelines);
    await checkReportColumns(reports, pipelines);
    for (const r of reports) if (r.problems.length === 0) out(`ok ${r.file}: report`);
    const problems = formatReportProblems(reports);
    for (const line of problems) process.stderr.write(`${line}\n`);
    return problems.length > 0 ? 1 : 0;
  },
};

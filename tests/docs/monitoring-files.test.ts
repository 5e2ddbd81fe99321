/**
 * The alert rules and the Grafana dashboard have one source each (the alert catalogue,
 * services/monitor/src/alerts/alert-catalogue.ts, and deploy/grafana/tributary.json): this test
 * fails when a deploy copy differs from what monitoring-files.ts generates from them, and names the
 * command that rewrites them (`npm run generate:monitoring`, which runs it with UPDATE_DOCS=1). It
 * also parses every rule and dashboard query and fails where one sums a gauge every replica repeats.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diff } from 'jest-diff';
import { ALERT_RULES, REPLICATED_GAUGES } from '../../services/monitor/src/alerts/alert-catalogue';
import { COMMAND, DASHBOARD, generatedFiles, ROOT } from './monitoring-files';
import { aggregationProblems, withoutGrafanaVariables } from './replica-aggregation';

const REPLICATED = new Set<string>(REPLICATED_GAUGES);
const DIFF_LABELS = { aAnnotation: 'generated', bAnnotation: 'in the repository', expand: false, contextLines: 2 };

/** Every query of the dashboard, named by its panel. */
function dashboardQueries(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(path.join(ROOT, DASHBOARD), 'utf8')) as {
    panels: { id: number; title: string; targets?: { expr?: string; refId?: string }[] }[];
  };
  return dashboard.panels.flatMap((p) =>
    (p.targets ?? []).filter((t) => t.expr).map((t) => ({ where: `${DASHBOARD}: panel ${p.id} "${p.title}" (${t.refId})`, expr: t.expr! })),
  );
}

describe('the alert rules and dashboard copies', () => {
  it('are what the alert catalogue and the dashboard generate', () => {
    const files = generatedFiles();
    if (process.env.UPDATE_DOCS === '1') for (const [rel, text] of files) writeFileSync(path.join(ROOT, rel), text);
    const stale = [...files].filter(([rel, text]) => readFileSync(path.join(ROOT, rel), 'utf8') !== text).map(([rel]) => rel);
    const diffs = stale.map((rel) => `${rel}:\n${diff(files.get(rel), readFileSync(path.join(ROOT, rel), 'utf8'), DIFF_LABELS)}`);
    if (stale.length) throw new Error(`stale generated files (${stale.join(', ')}): run \`${COMMAND}\`\n\n${diffs.join('\n\n')}`);
    expect(stale).toEqual([]);
  });

  it('never sum a gauge every replica exports (max by, as the KEDA query does)', () => {
    const exprs = [...ALERT_RULES.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr as string })), ...dashboardQueries()];
    expect(exprs.length).toBeGreaterThan(40);
    const problems = exprs.flatMap(({ where, expr }) =>
      aggregationProblems(withoutGrafanaVariables(expr), REPLICATED).map((p) => `${where}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it('the check finds a doubled gauge, an unaggregated one and a syntax error, and accepts max first', () => {
    const check = (e: string) => aggregationProblems(e, REPLICATED);
    expect(check('sum by (pipeline) (tributary_pipeline_records)')).toEqual([expect.stringContaining('taken by sum')]);
    expect(check('tributary_source_slot_lag_seconds > 300')).toEqual([expect.stringContaining('not aggregated')]);
    expect(check('max by (pipeline (tributary_pipeline_records)')).not.toEqual([]);
    expect(check('sum by (state) (max by (stream, state) (tributary_stream_replicas))')).toEqual([]);
    expect(check('max(tributary_monitor_status_up) == 0 or absent(tributary_monitor_status_up)')).toEqual([]);
    // Counters of each process add up: summing them is right.
    expect(check('sum by (pipeline) (rate(tributary_records_total[5m]))')).toEqual([]);
    expect(withoutGrafanaVariables('sum(rate(x{pipeline=~"$pipeline"}[$__rate_interval]))')).toBe(
      'sum(rate(x{pipeline=~"$pipeline"}[5m]))',
    );
  });

  it('lists only gauges docs/METRICS.md documents', () => {
    const metrics = readFileSync(path.join(ROOT, 'docs/METRICS.md'), 'utf8');
    const undocumented = REPLICATED_GAUGES.filter((m) => !new RegExp(`^\\| \`${m}\` +\\| gauge `, 'm').test(metrics));
    expect(undocumented).toEqual([]);
  });
});

/**
 * The generator of every deploy copy of the alert rules and the Grafana dashboard: the Prometheus
 * rules file (deploy/prometheus, and the chart's copy Helm can read), kustomize's PrometheusRule,
 * the chart's and kustomize's copies of deploy/grafana/tributary.json, and the alert table in
 * docs/operations.md. The rules come from services/monitor/src/alerts/alert-catalogue.ts.
 * `npm run generate:monitoring` writes them; monitoring-files.test.ts fails when one differs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Document, isMap, isScalar, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { ALERT_DEFAULTS, ALERT_RULES, type AlertRuleSpec } from '../../services/monitor/src/alerts/alert-catalogue';
import { formatAs, ROOT, withBlock } from './generated-blocks';

export { ROOT };
const CATALOGUE = 'services/monitor/src/alerts/alert-catalogue.ts';
export const COMMAND = 'npm run generate:monitoring';
/** The dashboard everyone edits (export it from Grafana here); the others are copies. */
export const DASHBOARD = 'deploy/grafana/tributary.json';
/** The markers around the generated alert table in docs/operations.md. */
const TABLE_START = `<!-- alert table: generated from ${CATALOGUE} by \`${COMMAND}\` -->`;
const TABLE_END = '<!-- end of alert table -->';

/** Wraps `text` into `#` comment lines of at most 100 characters (without the indent). */
function commentLines(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > 98) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  // yaml prefixes each comment line with '#'; the space keeps them readable.
  return lines.map((l) => ` ${l}`).join('\n');
}

/** One rule as Prometheus reads it. */
function promRule(r: AlertRuleSpec): Record<string, unknown> {
  return {
    alert: r.alert,
    expr: r.expr.includes('\n') ? `${r.expr}\n` : r.expr,
    ...(r.for ? { for: r.for } : {}),
    labels: { severity: r.severity },
    annotations: { summary: r.summary },
  };
}

/** The rule groups as YAML, with each rule's comment above its expression. */
function rulesYaml(header: string, wrap: (groups: unknown) => unknown, groupsPath: string[]): string {
  const doc = new Document(wrap([{ name: 'tributary', rules: ALERT_RULES.map(promRule) }]));
  doc.commentBefore = header;
  const rules = doc.getIn([...groupsPath, 0, 'rules']) as YAMLSeq<YAMLMap>;
  rules.items.forEach((rule, i) => {
    const comment = (ALERT_RULES[i] as AlertRuleSpec).comment;
    const expr = rule.items.find((p: Pair) => isScalar(p.key) && (p.key as Scalar).value === 'expr');
    if (comment && expr) (expr.key as Scalar).commentBefore = commentLines(comment);
    if (i > 0 && isMap(rule)) rule.spaceBefore = true;
  });
  return doc.toString({ lineWidth: 0, singleQuote: true, blockQuote: 'literal' });
}

const HEADER = (what: string) =>
  [
    ` ${what}.`,
    ` Generated from ${CATALOGUE} by \`${COMMAND}\`:`,
    ' edit that file, not this one (tests/docs/monitoring-files.test.ts fails when they differ).',
    ' Every monitor replica exports the same status gauges: the rules aggregate them with max, never sum.',
    ' Unit-tested with `promtool test rules deploy/prometheus/tributary-rules.test.yml`.',
  ].join('\n');

/** The alert table of docs/operations.md. */
function alertTable(): string {
  const holds = (r: AlertRuleSpec) =>
    r.for === undefined ? 'at once' : r.monitor && r.for === ALERT_DEFAULTS.for ? `${r.for} (\`MONITOR_ALERT_FOR\`)` : r.for;
  const rows = ALERT_RULES.map(
    (r: AlertRuleSpec) =>
      `| \`${r.alert}\` | ${r.severity} | ${r.monitor ? 'monitor and Prometheus' : 'Prometheus'} | ${holds(r)} | ${r.description} |`,
  );
  return ['| alert | severity | evaluated by | for | fires when |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

/** Every generated file: repository path → content. */
export function generatedFiles(): Map<string, string> {
  const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');
  const rules = rulesYaml(HEADER('Tributary alerting rules for Prometheus'), (groups) => ({ groups }), ['groups']);
  const prometheusRule = rulesYaml(
    HEADER('The Tributary alerting rules as a Prometheus Operator PrometheusRule'),
    (groups) => ({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'tributary' }, spec: { groups } }),
    ['spec', 'groups'],
  );
  const dashboard = read(DASHBOARD);
  const files = new Map<string, string>([
    ['deploy/prometheus/tributary-rules.yml', rules],
    // Helm reads only files inside the chart; kustomize only files below its kustomization.
    ['charts/tributary/files/prometheus-rules.yaml', rules],
    ['k8s/components/monitoring/prometheus-rule.yaml', prometheusRule],
    ['charts/tributary/files/grafana-dashboard.json', dashboard],
    ['k8s/components/monitoring/grafana-dashboard.json', dashboard],
    ['docs/operations.md', withBlock(read('docs/operations.md'), 'docs/operations.md', TABLE_START, TABLE_END, alertTable())],
  ]);
  for (const [rel, text] of files) files.set(rel, formatAs(rel, text));
  return files;
}

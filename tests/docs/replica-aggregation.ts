/**
 * Finds PromQL that counts a replicated gauge twice: every monitor replica exports the same status
 * gauges (and every loader the same table status), so an expression over one of them must take
 * `max` (or `min`) across replicas before anything else; `sum by` doubles with two replicas.
 * Parsed with Prometheus' own grammar (@prometheus-io/lezer-promql), so a malformed expression
 * is reported too.
 */
import type * as LezerPromql from '@prometheus-io/lezer-promql' with { 'resolution-mode': 'import' };

// The package ships CommonJS (dist/index.cjs), which jest loads, but types only for its ES module build.
const { parser } = require('@prometheus-io/lezer-promql') as typeof LezerPromql;

/** A node of the parsed expression. */
type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** Grafana's variables, replaced by something PromQL parses before checking a panel's query. */
const GRAFANA_VARIABLES: [RegExp, string][] = [
  [/\$__rate_interval|\$__interval|\$__range/g, '5m'],
  [/\$\{?(\w+)\}?/g, 'grafana_$1'],
];

/** Replaces Grafana's variables in a panel query (label values keep theirs: they sit in strings). */
export function withoutGrafanaVariables(expr: string): string {
  // Strings first: `"$pipeline"` stays a string, `[$__rate_interval]` becomes `[5m]`.
  return expr.replace(/"[^"]*"|[^"]+/g, (part) =>
    part.startsWith('"') ? part : GRAFANA_VARIABLES.reduce((s, [re, to]) => s.replace(re, to), part),
  );
}

/** The problems of one expression: a syntax error, or a replicated gauge not first taken by max/min. */
export function aggregationProblems(expr: string, replicated: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const tree = parser.parse(expr);
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) problems.push(`syntax error at character ${ref.from}: ${JSON.stringify(expr.slice(ref.from, ref.from + 30))}`);
      if (ref.name !== 'VectorSelector') return;
      const id = ref.node.getChild('Identifier');
      const metric = id ? expr.slice(id.from, id.to) : '';
      if (!replicated.has(metric)) return;
      const outer = firstAggregation(ref.node);
      if (outer === 'absent') return;
      if (outer !== 'max' && outer !== 'min') {
        problems.push(`${metric} is ${outer ? `taken by ${outer}` : 'not aggregated'}: every replica exports it, take max by (...) first`);
      }
    },
  });
  return problems;
}

/** The aggregation operator (or `absent`) nearest above `node`, lower-cased; undefined when none. */
function firstAggregation(node: SyntaxNode): string | undefined {
  for (let n = node.parent; n; n = n.parent) {
    if (n.name === 'FunctionCall' && n.getChild('FunctionIdentifier')?.firstChild?.name === 'Absent') return 'absent';
    if (n.name === 'AggregateExpr') return n.getChild('AggregateOp')?.firstChild?.name.toLowerCase();
  }
  return undefined;
}

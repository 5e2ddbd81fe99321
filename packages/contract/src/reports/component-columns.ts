/**
 * The columns a report's components and inline values name, checked against what each query
 * returns. One check for both places that know a query's output columns: `validate` offline (from
 * the parsed SQL) and the monitor (from PostgreSQL's description of the query).
 */
import type { Report } from './report-spec';

/** Component options that name one column of their query's result. */
const COLUMN_OPTIONS = ['value', 'comparison', 'x', 'series', 'lat', 'lon', 'label'] as const;

/**
 * Adds a problem to `report` for every column a component or inline value names that its query's
 * result lacks. `outputs` maps a query's name to its result columns; a query missing from it or
 * mapped to null (its columns unknowable, or it failed on its own) is not checked.
 */
export function checkComponentColumns(report: Report, outputs: ReadonlyMap<string, readonly string[] | null>): void {
  const need = (query: string, col: string | undefined, line: number, who: string): void => {
    const cols = outputs.get(query);
    if (col !== undefined && cols && !cols.includes(col))
      report.problems.push({
        file: report.file,
        line,
        message: `${who}: column "${col}" is not in the result of query ${query} (columns: ${cols.join(', ')})`,
      });
  };
  for (const c of report.components) {
    const o = c.options as unknown as Record<string, unknown>;
    for (const key of COLUMN_OPTIONS) need(c.options.query, o[key] as string | undefined, c.line, `${c.kind} ${key}`);
    for (const y of [o.y ?? []].flat() as string[]) need(c.options.query, y, c.line, `${c.kind} y`);
    for (const col of (o.columns ?? []) as string[]) need(c.options.query, col, c.line, 'table columns');
  }
  for (const r of report.inline) need(r.query, r.column, r.line, `{{ ${r.query}.${r.column} }}`);
}

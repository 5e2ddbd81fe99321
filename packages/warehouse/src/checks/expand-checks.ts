/**
 * Expands `checks:` entries into individual checks, each a SELECT returning the failing rows.
 */
import { ident } from '../sql';
import { refsOf, renderModelSql, type Check, type CheckEntry } from '@tributary/contract/spec';

/** SQL literal of a scalar (strings quoted, numbers and booleans as they are). */
function literal(v: string | number | boolean): string {
  return typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : String(v);
}

/** The checks of a pipeline's `checks:` entries. */
export function expandChecks(entries: readonly CheckEntry[]): Check[] {
  const out: Check[] = [];
  for (const e of entries) {
    const severity = e.severity;
    if (e.sql) {
      const sql = e.sql;
      out.push({ name: e.name!, kind: 'sql', severity, reads: refsOf(sql), failingRows: (resolve) => renderModelSql(sql, resolve) });
      continue;
    }
    const table = e.table!;
    const where = (extra?: string): string => {
      const conds = [e.where ? `(${e.where})` : undefined, extra].filter(Boolean);
      return conds.length ? ` WHERE ${conds.join(' AND ')}` : '';
    };
    const add = (
      kind: Check['kind'],
      suffix: string,
      build: (t: string, resolve: (n: string) => string) => string,
      reads: string[] = [],
    ): void => {
      out.push({
        name: `${table}.${kind}.${suffix}`,
        kind,
        severity,
        table,
        reads: [table, ...reads],
        failingRows: (resolve) => build(resolve(table), resolve),
      });
    };
    for (const c of e.not_null ?? []) add('not_null', c, (t) => `SELECT * FROM ${t}${where(`${ident(c)} IS NULL`)}`);
    for (const u of e.unique ?? []) {
      const cols = (Array.isArray(u) ? u : [u]).map(ident).join(', ');
      add(
        'unique',
        (Array.isArray(u) ? u : [u]).join('_'),
        (t) => `SELECT ${cols}, count(*) AS n FROM ${t}${where()} GROUP BY ${cols} HAVING count(*) > 1`,
      );
    }
    for (const [c, ref] of Object.entries(e.relationships ?? {})) {
      const [rt, rc] = ref.split('.') as [string, string];
      add(
        'relationships',
        c,
        (t, resolve) =>
          `SELECT x.${ident(c)}, count(*) AS n FROM ${t} x WHERE x.${ident(c)} IS NOT NULL${e.where ? ` AND (${e.where})` : ''}
           AND NOT EXISTS (SELECT 1 FROM ${resolve(rt)} r WHERE r.${ident(rc)} = x.${ident(c)}) GROUP BY x.${ident(c)}`,
        [rt],
      );
    }
    for (const [c, values] of Object.entries(e.accepted_values ?? {})) {
      add(
        'accepted_values',
        c,
        (t) =>
          `SELECT ${ident(c)}, count(*) AS n FROM ${t}${where(`${ident(c)}::text NOT IN (${values.map((v) => literal(String(v))).join(', ')})`)} GROUP BY ${ident(c)}`,
      );
    }
    for (const [c, r] of Object.entries(e.accepted_range ?? {})) {
      const bad = [
        r.min !== undefined ? `${ident(c)} < ${literal(r.min)}` : undefined,
        r.max !== undefined ? `${ident(c)} > ${literal(r.max)}` : undefined,
      ].filter(Boolean);
      add('accepted_range', c, (t) => `SELECT * FROM ${t}${where(`(${bad.join(' OR ') || 'false'})`)}`);
    }
    if (e.freshness) {
      const { column, max_age } = e.freshness;
      add(
        'freshness',
        column,
        (t) =>
          `SELECT max(${ident(column)}) AS latest, now() - interval '${max_age} milliseconds' AS due_after FROM ${t}${where()}
           HAVING max(${ident(column)}) IS NULL OR max(${ident(column)}) < now() - interval '${max_age} milliseconds'`,
      );
    }
  }
  return out;
}

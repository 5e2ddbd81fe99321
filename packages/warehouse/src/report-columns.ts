/**
 * `tributary validate`'s check of report queries' columns, without a database: each query is
 * parsed by PostgreSQL's own parser (libpg-query, the server's grammar compiled to WebAssembly),
 * and every column it names is looked up in what the loaded pipelines declare: each table's
 * columns as migrate creates them (`tableColumns`), the generated dimensions' and the SQL models'
 * (their SELECT's output, worked out the same way, in dependency order). A column that cannot
 * exist is an error naming the file, line and column; a component or `{{ query.column }}` naming a
 * column the query does not return is one too. The check never guesses: where a query's columns
 * cannot be known offline (a function returning records, `SELECT *` over something unknown), it
 * accepts what it cannot check, and the monitor's check in the warehouse (`LIMIT 0`) still runs.
 *
 * Longer than 300 lines because it is one scope analysis of SELECT (FROM items, joins, CTEs,
 * subqueries, output names) whose parts only make sense together.
 */
import { bindSql, checkComponentColumns, type Report } from '@tributary/contract/reports';
import { inPostgres, renderModelSql, type Pipeline } from '@tributary/contract/spec';
import { loadModule, parseSync } from 'libpg-query';
import { generatedDimensionSql } from './calendar';
import { tableColumns } from './table-ddl';

/** Columns of a relation; `null` when they cannot be known offline (anything is accepted). */
type Columns = string[] | null;

/** One relation in a FROM scope: the name it is referred to by, and its columns. */
interface Rel {
  name: string | null;
  columns: Columns;
}

/** A problem at an offset of the parsed SQL. */
interface Found {
  offset: number;
  message: string;
}

type Node = Record<string, unknown>;
const isObj = (v: unknown): v is Node => typeof v === 'object' && v !== null;
/** The one key of a parse node (`{ SelectStmt: {...} }`) and its body. */
const unwrap = (n: unknown): [string, Node] | undefined => {
  if (!isObj(n)) return undefined;
  const k = Object.keys(n)[0];
  return k && isObj(n[k]) ? [k, n[k]] : undefined;
};
const str = (n: unknown): string | undefined => (isObj(n) && isObj(n.String) ? (n.String.sval as string) : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Set-returning functions whose single output column is named after the FROM item's alias (or the function). */
const SCALAR_SET_FUNCTIONS = new Set(['unnest', 'generate_series', 'string_to_table', 'regexp_split_to_table', 'generate_subscripts']);

/** Names PostgreSQL gives an output column written without `AS`; undefined where not sure. */
function outputName(val: unknown): string | undefined {
  const u = unwrap(val);
  if (!u) return undefined;
  const [kind, n] = u;
  switch (kind) {
    case 'ColumnRef': {
      const last = list(n.fields).at(-1);
      return str(last);
    }
    case 'FuncCall':
      return str(list(n.funcname).at(-1));
    case 'TypeCast':
      return outputName(n.arg) ?? str(list((n.typeName as Node | undefined)?.names).at(-1));
    case 'CaseExpr':
      return 'case';
    case 'CoalesceExpr':
      return 'coalesce';
    case 'MinMaxExpr':
      return n.op === 'IS_GREATEST' ? 'greatest' : 'least';
    case 'NullIfExpr':
      return 'nullif';
    default:
      return undefined;
  }
}

/** Whether two names are close enough to suggest one for the other (one contains the other, or two edits apart). */
function alike(a: string, b: string): boolean {
  if (a.includes(b) || b.includes(a)) return true;
  if (Math.abs(a.length - b.length) > 2) return false;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]! <= 2;
}

/** The analysis of one query: its problems, against a catalogue of relations by name. */
class ScopeCheck {
  readonly found: Found[] = [];

  constructor(private readonly catalogue: Map<string, Columns>) {}

  /** Checks a statement (SelectStmt) and returns its output columns. */
  select(stmt: Node, outer: Rel[][], ctes: Map<string, Columns>): Columns {
    const local = new Map(ctes);
    const withClause = stmt.withClause as Node | undefined;
    for (const c of list(withClause?.ctes)) {
      const cte = unwrap(c)?.[1];
      if (!cte) continue;
      const name = cte.ctename as string;
      const aliases = list(cte.aliascolnames).map(str);
      // A recursive CTE refers to itself: unknown while its own body is read.
      if (withClause?.recursive) local.set(name, null);
      const body = unwrap(cte.ctequery);
      const cols = body?.[0] === 'SelectStmt' ? this.select(body[1], outer, local) : null;
      local.set(name, aliases.length > 0 && aliases.every(Boolean) ? (aliases as string[]) : cols);
    }
    if (stmt.op && stmt.op !== 'SETOP_NONE') {
      const left = this.select(stmt.larg as Node, outer, local);
      this.select(stmt.rarg as Node, outer, local);
      return left;
    }
    if (stmt.valuesLists) {
      for (const row of list(stmt.valuesLists)) this.expr(row, [[], ...outer], local);
      const first = unwrap(list(stmt.valuesLists)[0])?.[1];
      return list(first?.items).map((_, i) => `column${i + 1}`);
    }
    const scope: Rel[] = [];
    for (const item of list(stmt.fromClause)) scope.push(...this.fromItem(item, scope, outer, local));
    const scopes = [scope, ...outer];
    const targets = list(stmt.targetList)
      .map((t) => unwrap(t)?.[1])
      .filter(isObj);
    for (const t of targets) this.expr(t.val, scopes, local);
    for (const key of ['whereClause', 'havingClause', 'limitCount', 'limitOffset', 'distinctClause', 'windowClause'])
      this.expr(stmt[key], scopes, local);
    // GROUP BY and ORDER BY may also name an output column.
    const outputs = new Set(targets.map((t) => (t.name as string | undefined) ?? outputName(t.val)).filter(Boolean) as string[]);
    for (const key of ['groupClause', 'sortClause']) this.expr(stmt[key], scopes, local, outputs);

    const out: string[] = [];
    for (const t of targets) {
      const ref = unwrap(t.val);
      const fields = ref?.[0] === 'ColumnRef' ? list(ref[1].fields) : [];
      if (!t.name && fields.length > 0 && isObj(fields.at(-1)) && 'A_Star' in (fields.at(-1) as Node)) {
        // `*` or `t.*`: the columns of every relation in scope, or of the one named.
        const q = fields.length > 1 ? str(fields.at(-2)) : undefined;
        const rels = q ? scope.filter((r) => r.name === q) : scope;
        if (rels.some((r) => r.columns === null) || rels.length === 0) return null;
        for (const r of rels) out.push(...r.columns!);
        continue;
      }
      const name = (t.name as string | undefined) ?? outputName(t.val);
      if (name === undefined) return null;
      out.push(name);
    }
    return out;
  }

  /** The relations one FROM item brings into scope (a join brings both sides'). */
  private fromItem(item: unknown, before: Rel[], outer: Rel[][], ctes: Map<string, Columns>): Rel[] {
    const u = unwrap(item);
    if (!u) return [];
    const [kind, n] = u;
    const alias = n.alias as Node | undefined;
    const renamed = (cols: Columns): Columns => {
      const names = list(alias?.colnames)
        .map(str)
        .filter((x): x is string => x !== undefined);
      return names.length === 0 || cols === null ? cols : [...names, ...cols.slice(names.length)];
    };
    switch (kind) {
      case 'RangeVar': {
        const rel = n.relname as string;
        const cols = ctes.has(rel) && !n.schemaname ? ctes.get(rel)! : (this.catalogue.get(rel) ?? null);
        return [{ name: (alias?.aliasname as string | undefined) ?? rel, columns: renamed(cols) }];
      }
      case 'RangeSubselect': {
        const sub = unwrap(n.subquery);
        // LATERAL subqueries see the items before them.
        const cols = sub?.[0] === 'SelectStmt' ? this.select(sub[1], n.lateral ? [before, ...outer] : outer, ctes) : null;
        return [{ name: (alias?.aliasname as string | undefined) ?? null, columns: renamed(cols) }];
      }
      case 'RangeFunction': {
        for (const f of list(n.functions)) this.expr(f, [before, ...outer], ctes);
        const fns = list(n.functions).map((f) => unwrap(list(unwrap(f)?.[1].items)[0]));
        const name = (alias?.aliasname as string | undefined) ?? null;
        const colnames = list(alias?.colnames).map(str);
        let cols: Columns = null;
        if (colnames.length > 0 && colnames.every(Boolean)) cols = colnames as string[];
        else if (fns.length === 1 && fns[0]?.[0] === 'FuncCall' && !n.coldeflist) {
          const fname = str(list(fns[0][1].funcname).at(-1));
          if (fname && SCALAR_SET_FUNCTIONS.has(fname) && list(fns[0][1].args).length <= 3) cols = [name ?? fname];
        }
        if (cols && n.ordinality) cols = [...cols, 'ordinality'];
        return [{ name: name ?? (fns[0]?.[0] === 'FuncCall' ? (str(list(fns[0][1].funcname).at(-1)) ?? null) : null), columns: cols }];
      }
      case 'JoinExpr': {
        const left = this.fromItem(n.larg, before, outer, ctes);
        const right = this.fromItem(n.rarg, [...before, ...left], outer, ctes);
        const both = [...left, ...right];
        this.expr(n.quals, [[...before, ...both], ...outer], ctes);
        if (alias?.aliasname) {
          const cols = both.some((r) => r.columns === null) ? null : both.flatMap((r) => r.columns!);
          return [{ name: alias.aliasname as string, columns: cols }];
        }
        return both;
      }
      default:
        return [{ name: (alias?.aliasname as string | undefined) ?? null, columns: null }];
    }
  }

  /** Walks an expression: checks its column references, and subqueries in their own scope. */
  private expr(node: unknown, scopes: Rel[][], ctes: Map<string, Columns>, outputs?: Set<string>): void {
    if (Array.isArray(node)) {
      for (const x of node) this.expr(x, scopes, ctes, outputs);
      return;
    }
    if (!isObj(node)) return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'SelectStmt' && isObj(v)) {
        this.select(v, scopes, ctes);
        continue;
      }
      if (k === 'ColumnRef' && isObj(v)) {
        this.columnRef(v, scopes, outputs);
        continue;
      }
      this.expr(v, scopes, ctes, outputs);
    }
  }

  private columnRef(ref: Node, scopes: Rel[][], outputs?: Set<string>): void {
    const fields = list(ref.fields);
    const names = fields.map(str);
    const offset = (ref.location as number | undefined) ?? 0;
    const star = isObj(fields.at(-1)) && 'A_Star' in (fields.at(-1) as Node);
    if (names.length === 1 && !star) {
      const col = names[0]!;
      if (outputs?.has(col)) return;
      for (const scope of scopes) for (const r of scope) if (r.columns === null || r.columns.includes(col) || r.name === col) return;
      this.found.push({ offset, message: `column "${col}" does not exist${this.hint(col, scopes)}` });
      return;
    }
    // `rel.col`, `schema.rel.col`, `rel.*`: the relation is the field before the last.
    const relName = names.at(-2);
    if (!relName) return;
    const rel = scopes.flat().find((r) => r.name === relName);
    if (!rel) {
      if (scopes.flat().some((r) => r.name === null)) return;
      this.found.push({ offset, message: `missing FROM-clause entry for table "${relName}"` });
      return;
    }
    const col = names.at(-1);
    if (star || rel.columns === null || !col || rel.columns.includes(col)) return;
    const similar = rel.columns.filter((c) => alike(c, col));
    const has = rel.columns.length > 12 ? `${rel.columns.slice(0, 12).join(', ')}, …` : rel.columns.join(', ');
    this.found.push({
      offset,
      message: `column ${relName}.${col} does not exist (${similar.length > 0 ? `did you mean ${similar.map((c) => `${relName}.${c}`).join(', ')}?` : `${relName} has ${has}`})`,
    });
  }

  /** For an unknown bare column: a similar column in scope, or the relations it was looked for in. */
  private hint(col: string, scopes: Rel[][]): string {
    const near = scopes[0]!.filter((r) => r.columns !== null && r.name !== null);
    if (near.length === 0) return '';
    const similar = near.flatMap((r) => r.columns!.filter((c) => alike(c, col)).map((c) => `${r.name}.${c}`));
    return similar.length > 0 ? ` (did you mean ${similar.slice(0, 3).join(', ')}?)` : ` in ${near.map((r) => r.name).join(', ')}`;
  }
}

/** Parses one SELECT; returns its statement, or the parser's error with its offset. */
function parseSelect(sql: string): { stmt?: Node; error?: Found } {
  try {
    const r = parseSync(sql) as { stmts?: { stmt: unknown }[] };
    const u = unwrap(r.stmts?.[0]?.stmt);
    return u?.[0] === 'SelectStmt' ? { stmt: u[1] } : {};
  } catch (err) {
    const e = err as { message?: string; sqlDetails?: { cursorPosition?: number } };
    return { error: { offset: e.sqlDetails?.cursorPosition ?? 0, message: e.message ?? String(err) } };
  }
}

/** Columns of every relation the pipelines put in PostgreSQL: tables, generated dimensions, SQL models. */
export async function warehouseCatalogue(pipelines: readonly Pipeline[]): Promise<Map<string, Columns>> {
  await loadModule();
  const out = new Map<string, Columns>();
  for (const p of pipelines) {
    for (const t of p.tables.filter(inPostgres))
      out.set(
        t.name,
        tableColumns(p, t).map((c) => c.name),
      );
    for (const [name, dim] of Object.entries(p.warehouse?.dimensions ?? {})) {
      const create = unwrap((parseSync(generatedDimensionSql(name, dim)[0]!) as { stmts: { stmt: unknown }[] }).stmts[0]!.stmt)?.[1];
      out.set(
        name,
        list(create?.tableElts)
          .map((e) => unwrap(e))
          .filter((e) => e?.[0] === 'ColumnDef')
          .map((e) => e![1].colname as string),
      );
    }
  }
  for (const p of pipelines)
    for (const m of p.warehouse?.models ?? []) {
      const { stmt } = parseSelect(renderModelSql(m.text, (name) => `"${name}"`));
      out.set(m.name, stmt ? new ScopeCheck(out).select(stmt, [], new Map()) : null);
    }
  return out;
}

/** The component options that name a column of their query's rows. */
/**
 * Checks every query's columns (and the columns components and inline values use) against the
 * pipelines' warehouse; adds each problem to its report, with file and line.
 */
export async function checkReportColumns(reports: readonly Report[], pipelines: readonly Pipeline[]): Promise<void> {
  const catalogue = await warehouseCatalogue(pipelines);
  for (const report of reports) {
    const kinds = Object.fromEntries(Object.entries(report.inputs).map(([k, v]) => [k, v.kind]));
    const outputs = new Map<string, Columns>();
    const before = report.problems.length;
    for (const q of Object.values(report.queries)) {
      // Inputs become $n parameters; the text keeps its lines, so offsets map to the file's lines.
      const text = bindSql(q.sql, kinds).text;
      const lineAt = (offset: number): number => q.line + (text.slice(0, offset).match(/\n/g)?.length ?? 0);
      const parsed = parseSelect(text);
      if (parsed.error) {
        report.problems.push({ file: report.file, line: lineAt(parsed.error.offset), message: `query ${q.name}: ${parsed.error.message}` });
        continue;
      }
      if (!parsed.stmt) continue; // not a SELECT: the monitor refuses it when it runs
      const check = new ScopeCheck(catalogue);
      outputs.set(q.name, check.select(parsed.stmt, [], new Map()));
      for (const f of check.found)
        report.problems.push({ file: report.file, line: lineAt(f.offset), message: `query ${q.name}: ${f.message}` });
    }
    checkComponentColumns(report, outputs);
    if (report.problems.length > before) report.problems.sort((a, b) => a.line - b.line);
  }
}

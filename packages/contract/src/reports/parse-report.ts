/**
 * Parses a report file: front matter, Markdown, ```sql <name> queries and ```<component> blocks.
 * Every problem is collected with its file and line (never the first one alone), so an author
 * fixes a broken report in one pass; the monitor shows them where the report would be.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import {
  COMPONENT_SPECS,
  frontMatterSchema,
  INPUT_SPECS,
  type ComponentKind,
  type InputKind,
  type InputSpec,
  type Report,
  type ReportProblem,
} from './report-spec';
import { scanSql } from './sql-inputs';

const FENCE = /^(`{3,}|~{3,})\s*([A-Za-z0-9_-]*)(?:\s+(\S+))?\s*$/;
const INLINE = /\{\{\s*([a-z_][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
/** Code samples in these languages are never components, whatever they contain. */
const CODE_LANGUAGES = new Set(['yaml', 'yml', 'json', 'text', 'txt', 'sh', 'bash', 'console', 'md', 'markdown']);

/** Parses YAML text whose first line is `firstLine` in the file; problems land in `problems`. */
function parseYaml(
  text: string,
  file: string,
  firstLine: number,
  problems: ReportProblem[],
): { value: unknown; doc: Document; lc: LineCounter } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  for (const e of doc.errors)
    problems.push({ file, line: firstLine + lc.linePos(e.pos[0]).line - 1, message: `YAML: ${e.message.split('\n')[0]}` });
  return { value: doc.errors.length ? undefined : doc.toJS(), doc, lc };
}

/** The line of the node at `path` (or of its nearest parent that exists). */
function lineOf(doc: Document, lc: LineCounter, path: readonly PropertyKey[], firstLine: number): number {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as (string | number)[], true) as { range?: [number, number, number] } | undefined;
    const parent = n > 0 ? doc.getIn(path.slice(0, n - 1) as (string | number)[], true) : doc.contents;
    // Point at the key of a mapping entry when there is one: that is the line the author wrote.
    if (n > 0 && isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[n - 1]);
      const r = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
      if (r) return firstLine + lc.linePos(r[0]).line - 1;
    }
    if (node?.range) return firstLine + lc.linePos(node.range[0]).line - 1;
  }
  return firstLine;
}

/** Adds zod issues as problems located in the YAML. */
function addIssues(
  issues: readonly z.core.$ZodIssue[],
  where: { file: string; doc: Document; lc: LineCounter; firstLine: number; prefix?: readonly PropertyKey[]; label: string },
  problems: ReportProblem[],
): void {
  for (const i of issues) {
    // An unknown option is reported where it is written.
    const path = [...(where.prefix ?? []), ...(i.path as PropertyKey[]), ...(i.code === 'unrecognized_keys' ? [i.keys[0]!] : [])];
    const keys = i.code === 'unrecognized_keys' ? ` (${i.keys.join(', ')})` : '';
    const field = i.path.length > 0 ? `${i.path.join('.')}: ` : '';
    const unknown = i.code === 'unrecognized_keys' ? 'unknown option' + (i.keys.length > 1 ? 's' : '') + keys : i.message;
    problems.push({
      file: where.file,
      line: lineOf(where.doc, where.lc, path, where.firstLine),
      message: `${where.label}: ${field}${unknown}`,
    });
  }
}

/** What the parser needs to know about the warehouse: relations by name (lower case). */
export interface KnownRelations {
  /** Relation name -> the pipeline that owns it (tables, generated dimensions, models). */
  owners: Map<string, string>;
  /** Pipeline names. */
  pipelines: Set<string>;
}

/** Parses and checks one report file's text. */
export function parseReport(file: string, name: string, text: string, known?: KnownRelations): Report {
  const problems: ReportProblem[] = [];
  const report: Report = { name, file, inputs: {}, queries: {}, components: [], blocks: [], inline: [], problems };
  const lines = text.split(/\r?\n/);
  let bodyStart = 0;
  if (lines[0]?.trim() === '---') {
    const close = lines.findIndex((l, i) => i > 0 && l.trim() === '---');
    if (close < 0) problems.push({ file, line: 1, message: 'front matter: no closing --- line' });
    else {
      bodyStart = close + 1;
      const y = parseYaml(lines.slice(1, close).join('\n'), file, 2, problems);
      if (y.value !== undefined) {
        const r = frontMatterSchema.safeParse(y.value ?? {});
        if (!r.success) addIssues(r.error.issues, { file, doc: y.doc, lc: y.lc, firstLine: 2, label: 'front matter' }, problems);
        else {
          report.front = r.data;
          for (const [input, spec] of Object.entries(r.data.inputs)) {
            const kind = (spec as { kind?: string } | null)?.kind;
            const line = lineOf(y.doc, y.lc, ['inputs', input], 2);
            if (!kind || !(kind in INPUT_SPECS)) {
              problems.push({ file, line, message: `input ${input}: kind must be one of ${Object.keys(INPUT_SPECS).join(', ')}` });
              continue;
            }
            const ir = INPUT_SPECS[kind as InputKind].safeParse(spec);
            if (ir.success) report.inputs[input] = ir.data as InputSpec;
            else
              addIssues(
                ir.error.issues,
                { file, doc: y.doc, lc: y.lc, firstLine: 2, prefix: ['inputs', input], label: `input ${input}` },
                problems,
              );
          }
          for (const p of r.data.pipelines)
            if (known && !known.pipelines.has(p))
              problems.push({
                file,
                line: lineOf(y.doc, y.lc, ['pipelines'], 2),
                message: `front matter: unknown pipeline "${p}" (known: ${[...known.pipelines].join(', ')})`,
              });
        }
      }
    }
  } else problems.push({ file, line: 1, message: 'front matter: a report starts with a --- line, then title: and pipelines:' });

  let md: string[] = [];
  let mdLine = bodyStart + 1;
  const flush = (): void => {
    if (md.some((l) => l.trim())) report.blocks.push({ kind: 'markdown', text: md.join('\n'), line: mdLine });
    md = [];
  };
  for (let i = bodyStart; i < lines.length; i++) {
    const m = FENCE.exec(lines[i]!);
    if (!m) {
      if (md.length === 0) mdLine = i + 1;
      md.push(lines[i]!);
      for (const im of lines[i]!.matchAll(INLINE)) report.inline.push({ query: im[1]!, column: im[2]!, line: i + 1 });
      continue;
    }
    const closeAt = lines.findIndex((l, j) => j > i && l.trim().startsWith(m[1]!) && l.trim().replace(/[`~]/g, '') === '');
    const end = closeAt < 0 ? lines.length : closeAt;
    const body = lines.slice(i + 1, end).join('\n');
    const lang = m[2]!.toLowerCase();
    if (closeAt < 0) problems.push({ file, line: i + 1, message: 'code block is never closed' });
    if (lang === 'sql') {
      const q = m[3];
      if (!q) problems.push({ file, line: i + 1, message: 'a query needs a name: ```sql <name>' });
      else if (!/^[a-z_][a-z0-9_]*$/.test(q)) problems.push({ file, line: i + 1, message: `query name "${q}": use snake_case` });
      else if (report.queries[q])
        problems.push({ file, line: i + 1, message: `query ${q} is defined twice (first at line ${report.queries[q].line - 1})` });
      else if (!body.trim()) problems.push({ file, line: i + 1, message: `query ${q} is empty` });
      else report.queries[q] = { name: q, sql: body, line: i + 2 };
    } else if (lang in COMPONENT_SPECS || (lang && !CODE_LANGUAGES.has(lang) && /^\s*query\s*:/m.test(body))) {
      flush();
      const y = parseYaml(body, file, i + 2, problems);
      if (!(lang in COMPONENT_SPECS)) {
        problems.push({ file, line: i + 1, message: `unknown component "${lang}" (known: ${Object.keys(COMPONENT_SPECS).join(', ')})` });
      } else if (y.value !== undefined) {
        const r = COMPONENT_SPECS[lang as ComponentKind].safeParse(y.value ?? {});
        if (!r.success) addIssues(r.error.issues, { file, doc: y.doc, lc: y.lc, firstLine: i + 2, label: lang }, problems);
        else {
          const id = `c${report.components.length + 1}`;
          report.components.push({ id, kind: lang as ComponentKind, options: r.data, line: i + 1 });
          report.blocks.push({ kind: 'component', id });
        }
      }
      mdLine = end + 2;
    } else {
      // An ordinary code block: part of the Markdown.
      if (md.length === 0) mdLine = i + 1;
      md.push(...lines.slice(i, Math.min(end + 1, lines.length)));
    }
    i = end;
  }
  flush();
  crossCheck(report, known);
  return report;
}

/** Checks references between the parts: queries named by components, inputs used by queries, tables. */
function crossCheck(report: Report, known?: KnownRelations): void {
  const { file, problems } = report;
  const needQuery = (q: string, line: number, who: string): void => {
    if (!report.queries[q])
      problems.push({ file, line, message: `${who}: unknown query "${q}" (defined: ${Object.keys(report.queries).join(', ') || 'none'})` });
  };
  for (const c of report.components) needQuery(c.options.query, c.line, c.kind);
  for (const r of report.inline) needQuery(r.query, r.line, `{{ ${r.query}.${r.column} }}`);
  for (const [name, input] of Object.entries(report.inputs)) if (input.kind === 'dropdown') needQuery(input.query, 2, `input ${name}`);
  const declared = report.front ? new Set(Object.keys(report.front.inputs)) : new Set<string>();
  const allowed = new Set(report.front?.pipelines ?? []);
  for (const q of Object.values(report.queries)) {
    const scan = scanSql(q.sql);
    const lineAt = (offset: number): number => q.line + (q.sql.slice(0, offset).match(/\n/g)?.length ?? 0);
    for (const r of scan.misplaced)
      problems.push({
        file,
        line: lineAt(r.offset),
        message: `query ${q.name}: \${${r.input}} inside quotes or a comment would be text, not a bound parameter; write it outside (e.g. '%' || \${${r.input}} || '%')`,
      });
    for (const r of scan.refs) {
      const input = report.inputs[r.input];
      if (!declared.has(r.input))
        problems.push({
          file,
          line: lineAt(r.offset),
          message: `query ${q.name}: input "${r.input}" is used but not declared in the front matter's inputs`,
        });
      else if (input?.kind === 'date_range' && r.part !== 'from' && r.part !== 'to')
        problems.push({
          file,
          line: lineAt(r.offset),
          message: `query ${q.name}: a date range is used as \${${r.input}.from} or \${${r.input}.to}`,
        });
      else if (input && input.kind !== 'date_range' && r.part !== undefined)
        problems.push({
          file,
          line: lineAt(r.offset),
          message: `query ${q.name}: input ${r.input} is a ${input.kind}; use \${${r.input}}`,
        });
    }
    if (!known) continue;
    for (const rel of scan.relations) {
      if (scan.ctes.has(rel.name)) continue;
      const owner = known.owners.get(rel.name);
      if (owner === undefined)
        problems.push({
          file,
          line: lineAt(rel.offset),
          message: `query ${q.name}: table "${rel.name}" does not exist in the warehouse of the loaded pipelines`,
        });
      else if (allowed.size > 0 && !allowed.has(owner))
        problems.push({
          file,
          line: lineAt(rel.offset),
          message: `query ${q.name}: table "${rel.name}" belongs to pipeline ${owner}, which the front matter's pipelines do not list`,
        });
    }
  }
}

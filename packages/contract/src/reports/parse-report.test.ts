import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadPipelines } from '../spec/load-pipeline';
import { parseReport } from './parse-report';
import { knownRelations } from './report-relations';
import { bindSql, scanSql } from './sql-inputs';

const ROOT = path.resolve(__dirname, '../../../..');
const known = knownRelations(loadPipelines(path.join(ROOT, 'pipelines')));

const report = (body: string, front = 'title: T\npipelines: [traffic_windows]\n'): ReturnType<typeof parseReport> =>
  parseReport('/r/t.md', 't', `---\n${front}---\n${body}`, known);

describe('parseReport', () => {
  it.each(readdirSync(path.join(ROOT, 'reports')).filter((f) => f.endsWith('.md')))('finds no problem in the shipped report %s', (f) => {
    const r = parseReport(f, f.slice(0, -3), readFileSync(path.join(ROOT, 'reports', f), 'utf8'), known);
    expect(r.problems).toEqual([]);
    expect(r.components.length).toBeGreaterThan(2);
  });

  it('names the line of an unknown component, an unknown option and a missing query', () => {
    const r = report(
      '# Hi\n\n```sparkline\nquery: q\n```\n\n```sql q\nSELECT 1 AS a\n```\n\n```table\nquery: q\npagesize: 3\n```\n\n```big_number\nquery: nope\nvalue: a\n```\n',
    );
    expect(r.problems.map((p) => [p.line, p.message])).toEqual([
      [7, expect.stringContaining('unknown component "sparkline"')],
      [17, expect.stringContaining('unknown option (pagesize)')],
      [20, expect.stringContaining('unknown query "nope"')],
    ]);
  });

  it('reports bad front matter at its line', () => {
    const r = parseReport('/r/t.md', 't', '---\ntitle: T\npipelines: [nowhere]\ncolour: red\n---\n', known);
    expect(r.problems.map((p) => [p.line, p.message])).toEqual([[4, expect.stringContaining('unknown option (colour)')]]);
    const r2 = parseReport('/r/t.md', 't', '---\ntitle: T\npipelines: [nowhere]\n---\n', known);
    expect(r2.problems).toEqual([{ file: '/r/t.md', line: 3, message: expect.stringContaining('unknown pipeline "nowhere"') }]);
  });

  it('finds an input used but not declared, one inside quotes, and an unknown table', () => {
    const r = report(
      "```sql q\nSELECT *\nFROM fact_passage_live\nWHERE gantry_id = ${gantry}\n  AND plate LIKE '%${search}%'\n  AND x IN (SELECT 1 FROM no_such_table)\n```\n",
      'title: T\npipelines: [traffic_windows]\ninputs:\n  search: { kind: text }\n',
    );
    expect(r.problems.map((p) => [p.line, p.message])).toEqual([
      [11, expect.stringContaining('inside quotes')],
      [10, expect.stringContaining('input "gantry" is used but not declared')],
      [12, expect.stringContaining('table "no_such_table" does not exist')],
    ]);
  });

  it('rejects a table of a pipeline the front matter does not list', () => {
    const r = report('```sql q\nSELECT * FROM fact_transaction\n```\n');
    expect(r.problems).toEqual([
      expect.objectContaining({ line: 6, message: expect.stringContaining('belongs to pipeline transactions') }),
    ]);
  });
});

describe('SQL inputs', () => {
  it('binds every reference as a typed parameter and leaves literals and function FROMs alone', () => {
    const sql = "SELECT extract(epoch FROM at) FROM warehouse.t JOIN u ON true WHERE a = ${x} AND d >= ${p.from} AND s = '${x}' -- ${x}\n;";
    expect(bindSql(sql, { x: 'text', p: 'date_range' })).toEqual({
      text: "SELECT extract(epoch FROM at) FROM warehouse.t JOIN u ON true WHERE a = $1::text AND d >= $2::date AND s = '${x}' -- ${x}",
      params: [
        { input: 'x', part: undefined },
        { input: 'p', part: 'from' },
      ],
    });
    const scan = scanSql(sql);
    expect(scan.relations.map((r) => r.name)).toEqual(['t', 'u']);
    expect(scan.misplaced).toHaveLength(2);
  });
});

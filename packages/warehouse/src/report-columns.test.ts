/**
 * Report queries' columns checked offline against the shipped pipelines: a column that does not
 * exist is an error with file and line; the shipped reports, and every way a good query brings
 * columns into scope (aliases, joins, CTEs, subqueries, set-returning functions, output names,
 * SQL models, generated dimensions), pass.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { checkReports, parseReport, type Report } from '@tributary/contract/reports';
import { loadPipelines } from '@tributary/contract/spec';
import { checkReportColumns, warehouseCatalogue } from './report-columns';

const ROOT = path.resolve(__dirname, '../../..');
const pipelines = loadPipelines(path.join(ROOT, 'pipelines'));

/** A report over the transactions pipeline with the given body. */
async function check(body: string, pipelinesLine = '[transactions]'): Promise<string[]> {
  const report: Report = parseReport(
    '/r/t.md',
    't',
    `---\ntitle: T\npipelines: ${pipelinesLine}\ninputs:\n  search: { kind: text }\n---\n${body}`,
  );
  expect(report.problems).toEqual([]);
  await checkReportColumns([report], pipelines);
  return report.problems.map((p) => `${p.line}: ${p.message}`);
}

describe('report columns, offline', () => {
  it('passes the shipped reports', async () => {
    const reports = checkReports(path.join(ROOT, 'reports'), pipelines);
    expect(reports.map((r) => r.name).sort()).toEqual(
      readdirSync(path.join(ROOT, 'reports'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => f.slice(0, -3))
        .sort(),
    );
    await checkReportColumns(reports, pipelines);
    expect(reports.flatMap((r) => r.problems)).toEqual([]);
  });

  it('names the file line of a column that does not exist, bare or qualified, and a missing FROM entry', async () => {
    const body = [
      '```sql q', // line 7
      'SELECT tx_id,',
      '       amout',
      'FROM fact_transaction t',
      'WHERE t.citty = ${search} AND f.amount > 0',
      '```',
      '```table',
      'query: q',
      '```',
    ].join('\n');
    await expect(check(body)).resolves.toEqual([
      '9: query q: column "amout" does not exist (did you mean t.amount?)',
      '11: query q: column t.citty does not exist (did you mean t.city?)',
      '11: query q: missing FROM-clause entry for table "f"',
    ]);
  });

  it('accepts columns from aliases, joins, CTEs, subqueries, unnest, output names, models and generated dimensions', async () => {
    const good = [
      '```sql q',
      'WITH flagged AS (SELECT tx_id, amount AS amt, count(*) OVER () AS n FROM fact_fraud_alert)',
      "SELECT f.tx_id, f.amt, rule, s.c, x.total, date_trunc('hour', t.at) AS hour",
      'FROM fact_transaction t',
      'JOIN flagged f ON f.tx_id = t.tx_id',
      "CROSS JOIN unnest(string_to_array(t.fraud_rules, ',')) AS rule",
      'JOIN (SELECT card_id, count(*) AS c FROM fact_transaction GROUP BY card_id) s ON s.card_id = t.card_id',
      'LEFT JOIN LATERAL (SELECT sum(amount) AS total FROM fact_transaction u WHERE u.card_id = t.card_id) x ON true',
      'WHERE EXISTS (SELECT 1 FROM fact_fraud_alert a WHERE a.tx_id = t.tx_id AND a.fraud_score > f.n)',
      'ORDER BY hour DESC, 2',
      '```',
      '```table',
      'query: q',
      'columns: [tx_id, amt, rule, hour]',
      '```',
    ].join('\n');
    await expect(check(good)).resolves.toEqual([]);
    const model = [
      '```sql m',
      'SELECT e.design_name, e.revenue, d.day_name FROM sales_enriched e JOIN dim_date d ON d.date_id = e.created_date',
      '```',
      '```sql bad',
      'SELECT e.design FROM sales_enriched e',
      '```',
    ].join('\n');
    await expect(check(model, '[sales]')).resolves.toEqual(['11: query bad: column e.design does not exist (did you mean e.design_name?)']);
  });

  it("names a component's or inline value's column the query does not return, and a syntax error's line", async () => {
    const body = [
      'Total: {{ q.totl }}',
      '```sql q',
      'SELECT count(*) AS total FROM fact_transaction',
      '```',
      '```big_number',
      'query: q',
      'value: count',
      '```',
      '```sql broken',
      'SELECT tx_id',
      'FROM fact_transaction WHERE',
      '```',
    ].join('\n');
    await expect(check(body)).resolves.toEqual([
      '7: {{ q.totl }}: column "totl" is not in the result of query q (columns: total)',
      '11: big_number value: column "count" is not in the result of query q (columns: total)',
      expect.stringMatching(/^17: query broken: syntax error at end of input/),
    ]);
  });

  it('knows what migrate creates: bookkeeping columns, scd2 validity, generated dimensions, model outputs', async () => {
    const catalogue = await warehouseCatalogue(pipelines);
    expect(catalogue.get('fact_transaction')).toEqual(
      expect.arrayContaining(['fraud_probability', 'fraud_model', '_loaded_at', '_ingested_at']),
    );
    expect(catalogue.get('dim_staff')).toEqual(expect.arrayContaining(['dim_staff_sk', 'valid_from', 'valid_to', 'is_current']));
    expect(catalogue.get('dim_date')).toEqual(expect.arrayContaining(['date_id', 'year_month', 'day_name']));
    expect(catalogue.get('sales_enriched')).toEqual(expect.arrayContaining(['sales_order_id', 'revenue', 'delivery_country']));
    // Read from the file, as the shipped model is written.
    expect(readFileSync(path.join(ROOT, 'pipelines/sales/models/sales_enriched.sql'), 'utf8')).toContain('AS delivery_country');
  });
});

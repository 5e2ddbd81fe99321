/**
 * A report as one self-contained HTML file, for email or an archive (`GET
 * /api/reports/<name>/snapshot`, which `tributary report build <name> --out <dir>` saves). The queries run once (as the live page runs them: read-only role, timeout,
 * row cap, bound inputs at their defaults); charts are the same ECharts options rendered to SVG
 * on the server; Markdown goes through markdown-it with raw HTML off. No script, no external
 * file: it opens anywhere, offline.
 */
import { TributaryError } from '@tributary/contract/errors';
import { type Report, type ReportComponent } from '@tributary/contract/reports';
import * as echarts from 'echarts';
import MarkdownIt from 'markdown-it';
import type { Pool } from 'pg';
import { chartOption, CHART_KINDS, LAND_MAP } from './chart-options';
import { landGeoJson } from './land-map';
import { inputValues, runQuery, type QueryLimits, type QueryResult } from './query-runner';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const group = (s: string): string =>
  s.replace(/^(-?)(\d+)/, (_, sign: string, d: string) => sign + d.replace(/\B(?=(\d{3})+(?!\d))/g, ','));

/** A value as text (decimals keep their digits; only grouping is added). */
function text(v: unknown, type: string): string {
  if (v === null || v === undefined) return '–';
  if (type === 'number' || type === 'decimal')
    return group(typeof v === 'number' && !Number.isInteger(v) ? String(Math.round(v * 100) / 100) : String(v));
  if (type === 'time')
    return String(v)
      .replace('T', ' ')
      .replace(/(\.\d+)?Z$/, ' UTC');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function cell(r: QueryResult, column: string): string | undefined {
  const i = r.columns.findIndex((c) => c.name === column);
  return i < 0 ? undefined : text(r.rows[0]?.[i], r.columns[i]!.type);
}

const STATIC_ROWS = 200;

function component(c: ReportComponent, r: QueryResult | Error | undefined, file: string): string {
  const title = `<h2>${esc(c.options.title ?? c.kind.replace('_', ' '))}</h2>`;
  if (!r) return '';
  if (r instanceof Error) return `<section class="tile">${title}<p class="error">${esc(r.message)}</p></section>`;
  try {
    let body: string;
    if (c.kind === 'big_number') {
      const o = c.options as { value: string; comparison?: string; comparison_label?: string };
      body = `<p class="big">${esc(cell(r, o.value) ?? `(no column ${o.value})`)}</p>${o.comparison ? `<p class="muted">${esc(o.comparison_label ?? 'compared with')} ${esc(cell(r, o.comparison) ?? '–')}</p>` : ''}`;
    } else if (c.kind === 'table') {
      const cols = ((c.options as { columns?: string[] }).columns ?? r.columns.map((x) => x.name))
        .map((n) => r.columns.findIndex((x) => x.name === n))
        .filter((i) => i >= 0);
      const rows = r.rows.slice(0, STATIC_ROWS);
      body = `<table><thead><tr>${cols.map((i) => `<th>${esc(r.columns[i]!.name)}</th>`).join('')}</tr></thead><tbody>${rows
        .map((row) => `<tr>${cols.map((i) => `<td>${esc(text(row[i], r.columns[i]!.type))}</td>`).join('')}</tr>`)
        .join(
          '',
        )}</tbody></table><p class="muted">${r.rows.length > rows.length ? `first ${rows.length} of ` : ''}${r.rows.length} rows${r.truncated ? ' (cut at the row cap)' : ''}</p>`;
    } else if (CHART_KINDS.has(c.kind)) {
      const chart = echarts.init(null as unknown as Parameters<typeof echarts.init>[0], undefined, {
        renderer: 'svg',
        ssr: true,
        width: 720,
        height: c.kind === 'map' ? 400 : 300,
      });
      chart.setOption(chartOption(c, r, file));
      body = chart.renderToSVGString();
      chart.dispose();
    } else body = '';
    return `<section class="tile">${title}${body}</section>`;
  } catch (err) {
    return `<section class="tile">${title}<p class="error">${esc((err as Error).message)}</p></section>`;
  }
}

const CSS = `body{font:15px/1.5 system-ui,sans-serif;color:#1b2430;max-width:960px;margin:2rem auto;padding:0 1rem}
.tile{border:1px solid #d8dee6;border-radius:10px;padding:.75rem 1rem;margin:1rem 0}.tile h2{font-size:1rem;margin:0 0 .5rem}
.big{font-size:2.2rem;font-weight:600;margin:0}.muted{color:#556170;font-size:.85rem}.error{color:#c0262d;font-family:monospace}
table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{border-bottom:1px solid #d8dee6;padding:.2rem .4rem;text-align:left}
.inline{font-weight:600}svg{max-width:100%;height:auto}`;

/** Renders a report to one HTML document with the given query string values (defaults otherwise). */
export async function renderReportHtml(
  pool: Pool,
  report: Report,
  limits: QueryLimits,
  query: Record<string, string> = {},
): Promise<string> {
  if (!report.front)
    throw new TributaryError(
      'TRIB_E_REPORT',
      `report ${report.name} has problems: ${report.problems.map((p) => `line ${p.line}: ${p.message}`).join('; ')}`,
    );
  echarts.registerMap(LAND_MAP, landGeoJson() as never);
  const values = inputValues(report.inputs, query);
  const results = new Map<string, QueryResult | Error>();
  for (const q of Object.keys(report.queries)) results.set(q, await runQuery(pool, report, q, values, limits).catch((e: Error) => e));
  const md = new MarkdownIt({ html: false, typographer: true });
  const byId = new Map(report.components.map((c) => [c.id, c]));
  const body = report.blocks
    .map((b) => {
      if (b.kind === 'component') return component(byId.get(b.id)!, results.get(byId.get(b.id)!.options.query), report.file);
      return md.render(b.text).replace(/\{\{\s*([a-z_][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, q: string, col: string) => {
        const r = results.get(q);
        return `<span class="inline">${esc(!r || r instanceof Error ? '(query failed)' : (cell(r, col) ?? `(no column ${col})`))}</span>`;
      });
    })
    .join('\n');
  const inputs = Object.entries(values).map(
    ([k, v]) => `${k}: ${v === null ? 'all' : typeof v === 'object' ? `${v.from} to ${v.to}` : v || '–'}`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(report.front.title)}</title><style>${CSS}</style></head>
<body><h1>${esc(report.front.title)}</h1>${report.front.description ? `<p>${esc(report.front.description)}</p>` : ''}
<p class="muted">Snapshot of ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC${inputs.length ? ` · ${esc(inputs.join(' · '))}` : ''}</p>
${body}
</body></html>
`;
}

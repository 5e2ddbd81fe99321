/**
 * What a tile draws from a query's rows: a big number with its comparison, a sortable paginated
 * table, values for inline text. Every value goes through `textContent`; decimals keep all their
 * digits (only grouping is added), so what the page shows is what the warehouse holds.
 */
import { h } from '../dom.js';
import type { Component, QueryResult } from './report-types.js';

/** Groups the integer digits of a decimal string without turning it into a double. */
function groupDigits(s: string): string {
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(s);
  if (!m) return s;
  return `${m[1]}${m[2]!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${m[3] ?? ''}`;
}

/** A value as the page shows it. */
export function formatValue(v: unknown, type: string, format?: string): string {
  if (v === null || v === undefined) return '–';
  if (format === 'percent' && (typeof v === 'number' || typeof v === 'string'))
    return `${groupDigits(String(Math.round(Number(v) * 1000) / 10))} %`;
  if (type === 'number' || type === 'decimal') {
    const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100)) : String(v);
    return groupDigits(format === 'integer' ? String(Math.round(Number(s))) : s);
  }
  if (type === 'time' && typeof v === 'string') return v.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
  if (type === 'bool') return v ? 'yes' : 'no';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** The first row's value of `column`, or undefined. */
export function firstValue(r: QueryResult, column: string): { value: unknown; type: string } | undefined {
  const i = r.columns.findIndex((c) => c.name === column);
  if (i < 0) return undefined;
  return { value: r.rows[0]?.[i] ?? null, type: r.columns[i]!.type };
}

/** A big number with its comparison. */
export function bigNumber(c: Component, r: QueryResult): HTMLElement {
  const o = c.options as unknown as { value: string; comparison?: string; comparison_label?: string; format?: string };
  const v = firstValue(r, o.value);
  if (!v) return h('p', { class: 'tile-error' }, `column "${o.value}" is not in the result of query ${c.options.query}`);
  const out = h(
    'div',
    { class: 'big-number' },
    h('span', { class: 'value', 'data-value': String(v.value ?? '') }, formatValue(v.value, v.type, o.format)),
  );
  if (o.comparison) {
    const cmp = firstValue(r, o.comparison);
    const a = Number(v.value);
    const b = Number(cmp?.value);
    if (cmp && cmp.value !== null && Number.isFinite(a) && Number.isFinite(b)) {
      const pct = b === 0 ? null : ((a - b) / Math.abs(b)) * 100;
      const dir = a > b ? 'up' : a < b ? 'down' : 'flat';
      out.append(
        h(
          'span',
          { class: `comparison ${dir}` },
          `${dir === 'up' ? '▲' : dir === 'down' ? '▼' : '='} ${pct === null ? formatValue(a - b, 'number') : `${Math.round(pct * 10) / 10} %`} ${o.comparison_label ?? `vs ${formatValue(cmp.value, cmp.type, o.format)}`}`,
        ),
      );
    }
  }
  return out;
}

function compare(a: unknown, b: unknown, numeric: boolean): number {
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1;
  if (b === null || b === undefined) return -1;
  return numeric ? Number(a) - Number(b) : String(a).localeCompare(String(b));
}

/** A sortable, paginated table; its state lives in the element so a refresh keeps sort and page. */
export function dataTable(c: Component, r: QueryResult, state: { sort?: string; page: number }): HTMLElement {
  const o = c.options as unknown as { columns?: string[]; page_size: number };
  const cols = (o.columns ?? r.columns.map((x) => x.name)).map((name) => ({ name, i: r.columns.findIndex((x) => x.name === name) }));
  const missing = cols.filter((x) => x.i < 0);
  if (missing.length)
    return h(
      'p',
      { class: 'tile-error' },
      `columns not in the result of query ${c.options.query}: ${missing.map((m) => m.name).join(', ')}`,
    );
  const wrap = h('div', { class: 'report-table' });
  const draw = (): void => {
    const desc = state.sort?.startsWith('-') ?? false;
    const key = state.sort?.replace(/^-/, '');
    const si = cols.find((x) => x.name === key)?.i ?? -1;
    const numeric = si >= 0 && ['number', 'decimal'].includes(r.columns[si]!.type);
    const rows = si < 0 ? r.rows : [...r.rows].sort((a, b) => (desc ? -1 : 1) * compare(a[si], b[si], numeric));
    const pages = Math.max(1, Math.ceil(rows.length / o.page_size));
    state.page = Math.min(state.page, pages - 1);
    const shown = rows.slice(state.page * o.page_size, (state.page + 1) * o.page_size);
    const head = cols.map((col) => {
      const sorted = col.name === key ? (desc ? 'descending' : 'ascending') : 'none';
      const flip = (): void => {
        state.sort = col.name === key && !desc ? `-${col.name}` : col.name;
        state.page = 0;
        draw();
      };
      return h(
        'th',
        { scope: 'col', 'aria-sort': sorted },
        h(
          'button',
          { type: 'button', class: 'sort', onclick: flip, 'data-key': `sort-${col.name}` },
          col.name,
          sorted === 'none' ? '' : desc ? ' ↓' : ' ↑',
        ),
      );
    });
    const body = shown.map((row) =>
      h(
        'tr',
        {},
        cols.map((col) =>
          h(
            'td',
            {
              class: ['number', 'decimal'].includes(r.columns[col.i]!.type) ? 'num' : undefined,
              'data-value': row[col.i] === null ? '' : String(row[col.i]),
            },
            formatValue(row[col.i], r.columns[col.i]!.type),
          ),
        ),
      ),
    );
    const nav =
      pages > 1
        ? h(
            'nav',
            { class: 'pager', 'aria-label': 'Pages' },
            h(
              'button',
              { type: 'button', disabled: state.page === 0, 'data-key': 'prev', onclick: () => (state.page--, draw()) },
              'Previous',
            ),
            h(
              'span',
              { class: 'muted' },
              `Rows ${state.page * o.page_size + 1}–${state.page * o.page_size + shown.length} of ${rows.length}`,
            ),
            h(
              'button',
              { type: 'button', disabled: state.page >= pages - 1, 'data-key': 'next', onclick: () => (state.page++, draw()) },
              'Next',
            ),
          )
        : h('p', { class: 'muted rows' }, `${rows.length} row${rows.length === 1 ? '' : 's'}`);
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.key;
    wrap.replaceChildren(h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, head)), h('tbody', {}, body))), nav);
    if (focused) wrap.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`)?.focus();
  };
  draw();
  return wrap;
}

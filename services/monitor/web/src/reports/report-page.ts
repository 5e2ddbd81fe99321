/**
 * `/reports/<name>`: a report's text, inputs and tiles. Every overview the live feed delivers
 * (main.ts keeps the one connection, shared by the browser's tabs) says which tables had loads:
 * the queries reading them are asked for again, nothing else, and never on a timer of the page's
 * own. The monitor answers from one run shared by every viewer, and re-runs a query only as often
 * as its refresh policy allows; a result held back says so (`stale`, `next_at`), and the page asks
 * again at the first overview after that time. Each tile says how old its data is (the newest
 * ingest time loaded into the tables its query reads, when it ran) against the pipeline's SLA.
 */
import { get } from '../api.js';
import { h } from '../dom.js';
import { duration } from '../format.js';
import type { Page } from '../page.js';
import type { Overview } from '../types.js';
import { inputBar, inputQueryString, type InputState } from './report-inputs.js';
import type { Component, QueryResult, ReportData, ReportDetail, TileError } from './report-types.js';
import { bigNumber, dataTable, firstValue, formatValue } from './tiles.js';
import { echartsLib, markdown, type EChart } from './vendor.js';

const CHARTS = new Set(['line_chart', 'area_chart', 'bar_chart', 'histogram', 'heatmap', 'map']);

interface Tile {
  c: Component;
  el: HTMLElement;
  body: HTMLElement;
  meta: HTMLElement;
  age: HTMLElement;
  chart?: EChart;
  table: { sort?: string; page: number };
}

function errorText(e: TileError): string {
  return e.message;
}

/** The page of one report. */
export function reportPage(name: string): Page {
  let detail: ReportDetail | undefined;
  let overview: Overview | undefined;
  let root: HTMLElement | undefined;
  let inputs: InputState | undefined;
  const tiles = new Map<string, Tile>();
  const results: Record<string, QueryResult | { error: TileError }> = {};
  /** The data version each query's rows are current for (a held-back result is current for none). */
  const ranAt = new Map<string, string>();
  /** A held-back query is not asked for again before this time (epoch ms). */
  const nextAt = new Map<string, number>();
  let running = false;
  let queued = new Set<string>();
  let observer: ResizeObserver | undefined;
  /** Resolved by the first overview (main.ts asks for one as the page opens). */
  let overviewSeen!: () => void;
  const firstOverview = new Promise<void>((resolve) => (overviewSeen = resolve));

  const version = (q: string): string => {
    const tables = detail?.queries[q]?.tables ?? [];
    return tables
      .map((t) => {
        const s = overview?.pipelines.find((p) => p.name === t.pipeline)?.tables[t.table];
        return `${t.pipeline}.${t.table}:${s?.loaded ?? 0}:${s?.last_loaded_at ?? ''}`;
      })
      .join('|');
  };

  const showAges = (): void => {
    if (!detail || !overview) return;
    for (const t of tiles.values()) {
      const tables = detail.queries[t.c.options.query]?.tables ?? [];
      if (tables.length === 0) continue;
      let newest: number | null = null;
      let sla = Infinity;
      for (const ref of tables) {
        const p = overview.pipelines.find((x) => x.name === ref.pipeline);
        const at = p?.tables[ref.table]?.newest_ingested_at;
        if (at) newest = Math.max(newest ?? 0, Date.parse(at));
        if (p) sla = Math.min(sla, p.sla.freshness_seconds);
      }
      // The rows shown are as old as the loads were when their query ran, not as the loads are now.
      const r = results[t.c.options.query];
      if (r && !('error' in r) && r.ran_at) newest = r.as_of ? Date.parse(r.as_of) : null;
      const age = newest === null ? null : Math.max(0, (Date.now() - newest) / 1000);
      const late = age === null || age > sla;
      t.age.className = `age badge ${late ? 'warn' : 'ok'}`;
      t.age.textContent = age === null ? 'No data loaded yet' : `Data ${duration(age)} old · SLA ${duration(sla)}`;
      t.age.dataset.ageSeconds = age === null ? '' : String(Math.round(age));
    }
  };

  const drawInline = (): void => {
    for (const span of root?.querySelectorAll<HTMLElement>('.inline-value') ?? []) {
      const r = results[span.dataset.query!];
      if (!r) continue;
      const v = 'error' in r ? undefined : firstValue(r, span.dataset.column!);
      span.classList.toggle('error', !v);
      span.textContent = 'error' in r ? '(query failed)' : v ? formatValue(v.value, v.type) : `(no column ${span.dataset.column})`;
      span.dataset.value = v ? String(v.value ?? '') : '';
      span.title = 'error' in r ? r.error.message : '';
    }
  };

  const drawTile = async (t: Tile, data: ReportData): Promise<void> => {
    const r = results[t.c.options.query];
    if (!r) return;
    t.el.classList.toggle('failed', 'error' in r);
    if ('error' in r) {
      t.chart?.dispose();
      t.chart = undefined;
      t.body.replaceChildren(h('p', { class: 'tile-error', role: 'alert' }, errorText(r.error)));
      t.meta.textContent = `query ${t.c.options.query}`;
      return;
    }
    t.meta.textContent = `query ${t.c.options.query} · ${r.rows.length} row${r.rows.length === 1 ? '' : 's'}${r.truncated ? ' (cut at the row cap)' : ''} · ${r.ms} ms`;
    t.meta.title = r.stale && r.next_at ? `ran ${r.ran_at}; newer loads are shown after ${r.next_at} (refresh policy)` : `ran ${r.ran_at}`;
    t.el.dataset.stale = String(r.stale);
    if (t.c.kind === 'big_number') t.body.replaceChildren(bigNumber(t.c, r));
    else if (t.c.kind === 'table') t.body.replaceChildren(dataTable(t.c, r, t.table));
    else if (CHARTS.has(t.c.kind)) {
      const built = data.charts[t.c.id];
      if (!built) return;
      if ('error' in built) {
        t.chart?.dispose();
        t.chart = undefined;
        t.body.replaceChildren(h('p', { class: 'tile-error', role: 'alert' }, errorText(built.error)));
        return;
      }
      const lib = await echartsLib(t.c.kind === 'map');
      if (!t.chart) {
        const div = h('div', { class: 'chart', role: 'img', 'aria-label': t.c.options.title ?? t.c.kind });
        t.body.replaceChildren(div);
        t.chart = lib.init(div, null, { renderer: 'svg' });
      }
      t.chart.setOption(built.option, true);
    }
    t.el.dataset.rows = String(r.rows.length);
  };

  const refresh = async (queries: string[]): Promise<void> => {
    if (!detail) return;
    for (const q of queries) queued.add(q);
    if (running) return;
    running = true;
    try {
      while (queued.size > 0) {
        const batch = [...queued];
        queued = new Set();
        // One request per query, drawn as it answers: a fast tile does not wait for the slowest
        // query, and a query's data version is its own, so pages share each run whatever else they ask.
        let ranAtText = '';
        await Promise.all(
          batch.map(async (q) => {
            const v = version(q);
            const qs = new URLSearchParams(inputQueryString(detail!.inputs, inputs?.values ?? {}));
            qs.set('queries', q);
            let data: ReportData;
            try {
              data = await get<ReportData>(`/api/reports/${encodeURIComponent(name)}/data?${qs}`);
            } catch (err) {
              results[q] = { error: { code: 'TRIB_E_UNAVAILABLE', message: (err as Error).message } };
              data = { ran_at: '', results: {}, charts: {} };
            }
            const got = data.results[q];
            if (got && 'stale' in got && got.stale) {
              ranAt.set(q, '');
              nextAt.set(q, got.next_at ? Date.parse(got.next_at) : Date.now());
            } else {
              ranAt.set(q, v);
              nextAt.delete(q);
            }
            Object.assign(results, data.results);
            if (data.ran_at > ranAtText) ranAtText = data.ran_at;
            await Promise.all([...tiles.values()].filter((t) => t.c.options.query === q).map((t) => drawTile(t, data)));
            drawInline();
          }),
        );
        showAges();
        inputs?.fill(results);
        root?.setAttribute('data-refreshed', ranAtText);
      }
    } finally {
      running = false;
    }
  };

  const tileFor = (c: Component): HTMLElement => {
    const body = h('div', { class: 'tile-body' }, h('p', { class: 'muted' }, 'Loading…'));
    const meta = h('span', { class: 'muted' });
    const age = h('span', { class: 'age badge' });
    const el = h(
      'section',
      { class: `panel tile report-tile ${c.kind}`, 'data-component': c.id, 'data-kind': c.kind, 'data-query': c.options.query },
      h('header', {}, h('h2', {}, c.options.title ?? c.kind.replace('_', ' ')), age),
      body,
      h('footer', {}, meta),
    );
    tiles.set(c.id, { c, el, body, meta, age, table: { sort: c.options.sort as string | undefined, page: 0 } });
    return el;
  };

  const render = async (d: ReportDetail): Promise<void> => {
    const md = await markdown();
    const byId = new Map(d.components.map((c) => [c.id, c]));
    const content = h('div', { class: 'report-body' });
    let row: HTMLElement | undefined;
    for (const b of d.blocks) {
      if (b.kind === 'markdown') {
        row = undefined;
        const div = h('div', { class: 'markdown' });
        // markdown-it escapes all HTML (html: false); the spans below are ours, with checked names.
        div.innerHTML = md
          .render(b.text)
          .replace(
            /\{\{\s*([a-z_][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g,
            '<span class="inline-value" data-query="$1" data-column="$2">…</span>',
          );
        content.append(div);
      } else {
        const c = byId.get(b.id)!;
        // Consecutive small tiles share a row; tables and charts take the width they need.
        if (!row) content.append((row = h('div', { class: 'tile-row' })));
        row.append(tileFor(c));
      }
    }
    const problems = d.problems.length
      ? h(
          'section',
          { class: 'panel problems', role: 'alert' },
          h('h2', {}, `${d.problems.length} problem${d.problems.length > 1 ? 's' : ''} in ${d.file}`),
          h(
            'ul',
            {},
            d.problems.map((p) => h('li', {}, h('code', {}, `${p.file}:${p.line}`), ` ${p.message}`)),
          ),
        )
      : null;
    inputs = inputBar(d.inputs, () => {
      ranAt.clear();
      nextAt.clear();
      void refresh(Object.keys(d.queries));
    });
    root!.replaceChildren(
      ...[
        h('p', { class: 'crumbs' }, h('a', { href: '/reports' }, 'Reports'), ' / ', d.name),
        h('h1', {}, d.title),
        d.description ? h('p', { class: 'muted' }, d.description) : null,
        problems,
        inputs.el,
        content,
      ].filter((x): x is HTMLElement => x !== null),
    );
    observer = new ResizeObserver(() => tiles.forEach((t) => t.chart?.resize()));
    observer.observe(root!);
    showAges();
    // The chart library (1 MB) loads and compiles while the queries run, not after they answer.
    if (d.components.some((c) => CHARTS.has(c.kind))) echartsLib(d.components.some((c) => c.kind === 'map')).catch(() => undefined);
    // The first run waits for the first overview (up to 2 s): the data version comes from it, and
    // without it every query would run again when it comes, and pages opened together would not
    // share one run of each query.
    await Promise.race([firstOverview, new Promise((r) => setTimeout(r, 2000))]);
    await refresh(Object.keys(d.queries));
  };

  return {
    title: 'Report · Tributary',
    nav: 'reports',
    mount(main) {
      root = h('div', { class: 'report', 'data-report': name }, h('p', { class: 'muted' }, 'Loading report…'));
      main.replaceChildren(root);
      // Markdown-it loads while the report's parts are asked for (render awaits the same load).
      markdown().catch(() => undefined);
      get<ReportDetail>(`/api/reports/${encodeURIComponent(name)}`).then(
        (d) => {
          detail = d;
          document.title = `${d.title} · Tributary`;
          return render(d);
        },
        (err: Error) => root!.replaceChildren(h('h1', {}, 'Report'), h('p', { class: 'panel error', role: 'alert' }, err.message)),
      );
    },
    update(o) {
      overview = o;
      overviewSeen();
      showAges();
      if (!detail || detail.refresh !== 'live' || ranAt.size === 0) return;
      const now = Date.now();
      const stale = Object.keys(detail.queries).filter((q) =>
        detail!.queries[q]!.tables.length > 0 ? ranAt.get(q) !== version(q) && (nextAt.get(q) ?? 0) <= now : false,
      );
      if (stale.length > 0) void refresh(stale);
    },
    unmount() {
      observer?.disconnect();
      for (const t of tiles.values()) t.chart?.dispose();
      tiles.clear();
    },
  };
}

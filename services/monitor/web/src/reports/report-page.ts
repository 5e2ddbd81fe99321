/**
 * `/reports/<name>`: a report's text, inputs and tiles. Every overview the live feed delivers
 * (main.ts keeps the one connection, shared by the browser's tabs) says which tables had loads:
 * the queries reading them are asked for again, nothing else, and never on a timer of the page's
 * own. The monitor answers from one run shared by every viewer, and re-runs a query only as often
 * as its refresh policy allows; a result held back says so (`stale`, `next_at`), and the page asks
 * again at the first overview after that time. Each tile says how old its data is (the newest
 * ingest time loaded into the tables its query reads, when it ran) against the pipeline's SLA.
 *
 * What an open page costs the machine it runs on is kept to what changed: a result the tile
 * already shows (a held-back one served again, or a re-run that found the same rows) is not drawn
 * again; a chart whose option keeps its shape is updated in place; the tiles a refresh changes are
 * drawn together in one animation frame; a live update of a tile out of view waits until it
 * scrolls in, and a hidden page (a background tab) asks for nothing until it is shown again.
 *
 * Longer than 300 lines because the page's state (each query's data version and held-back time,
 * what each tile shows, the frame and the observers) is read and changed by every part of it;
 * split up, each part would take all of it as arguments.
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
  /** The chart's option without its data and numbers: the same shape again updates the chart in place. */
  shape?: string;
  /** What the body shows (rows, or error, and chart option) as JSON: the same again is not drawn again. */
  shown?: string;
  /** The result the tile shows (its age is that result's). */
  result?: QueryResult | { error: TileError };
  table: { sort?: string; page: number };
  /** In or near the viewport. */
  inView: boolean;
  /** A live update held until the tile scrolls into view. */
  pending?: ReportData;
}

function errorText(e: TileError): string {
  return e.message;
}

/** Sets a text only when it differs: writing the same text still makes the browser lay out and paint again. */
function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

function setAttr(el: HTMLElement, name: string, value: string): void {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/** An option's structure: its keys, strings and series, without data arrays and numbers (which merging replaces). */
function optionShape(option: Record<string, unknown>): string {
  return JSON.stringify(option, (k, v: unknown) => (k === 'data' ? undefined : typeof v === 'number' ? 0 : v));
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
  /** Whether every query queued is there because loads committed (none for the user's inputs or the first run). */
  let liveOnly = true;
  let resizes: ResizeObserver | undefined;
  let views: IntersectionObserver | undefined;
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
      const r = t.result;
      if (r && !('error' in r) && r.ran_at) newest = r.as_of ? Date.parse(r.as_of) : null;
      const age = newest === null ? null : Math.max(0, (Date.now() - newest) / 1000);
      const late = age === null || age > sla;
      setAttr(t.age, 'class', `age badge ${late ? 'warn' : 'ok'}`);
      setText(t.age, age === null ? 'No data loaded yet' : `Data ${duration(age)} old · SLA ${duration(sla)}`);
      setAttr(t.age, 'data-age-seconds', age === null ? '' : String(Math.round(age)));
    }
  };

  const drawInline = (): void => {
    for (const span of root?.querySelectorAll<HTMLElement>('.inline-value') ?? []) {
      const r = results[span.dataset.query!];
      if (!r) continue;
      const v = 'error' in r ? undefined : firstValue(r, span.dataset.column!);
      setAttr(span, 'class', v ? 'inline-value' : 'inline-value error');
      setText(span, 'error' in r ? '(query failed)' : v ? formatValue(v.value, v.type) : `(no column ${span.dataset.column})`);
      setAttr(span, 'data-value', v ? String(v.value ?? '') : '');
      setAttr(span, 'title', 'error' in r ? r.error.message : '');
    }
  };

  const drawTile = async (t: Tile, data: ReportData): Promise<void> => {
    const r = data.results[t.c.options.query];
    if (!r) return;
    t.result = r;
    const built = data.charts[t.c.id];
    const failed = 'error' in r ? r.error : built && 'error' in built ? built.error : undefined;
    t.el.classList.toggle('failed', 'error' in r);
    if ('error' in r) setText(t.meta, `query ${t.c.options.query}`);
    else {
      setText(
        t.meta,
        `query ${t.c.options.query} · ${r.rows.length} row${r.rows.length === 1 ? '' : 's'}${r.truncated ? ' (cut at the row cap)' : ''} · ${r.ms} ms`,
      );
      setAttr(
        t.meta,
        'title',
        r.stale && r.next_at ? `ran ${r.ran_at}; newer loads are shown after ${r.next_at} (refresh policy)` : `ran ${r.ran_at}`,
      );
      setAttr(t.el, 'data-stale', String(r.stale));
    }
    // The same rows (a held-back result served again, or a re-run that found nothing new) and the
    // same chart: the tile already shows them.
    const shown = JSON.stringify(failed ?? ('error' in r ? null : [r.columns, r.rows, r.truncated, built]));
    if (shown === t.shown) return;
    if (failed) {
      t.chart?.dispose();
      t.chart = undefined;
      t.shape = undefined;
      t.body.replaceChildren(h('p', { class: 'tile-error', role: 'alert' }, errorText(failed)));
      t.shown = shown;
      return;
    }
    const rows = r as QueryResult;
    if (t.c.kind === 'big_number') t.body.replaceChildren(bigNumber(t.c, rows));
    else if (t.c.kind === 'table') t.body.replaceChildren(dataTable(t.c, rows, t.table));
    else if (CHARTS.has(t.c.kind)) {
      if (!built || 'error' in built) return;
      const lib = await echartsLib(t.c.kind === 'map');
      if (!t.chart) {
        const div = h('div', { class: 'chart', role: 'img', 'aria-label': t.c.options.title ?? t.c.kind });
        t.body.replaceChildren(div);
        t.chart = lib.init(div, null, { renderer: 'svg' });
        resizes?.observe(div);
      }
      // The same shape (series, axes, names) merges in place: ECharts patches the drawing it has
      // instead of building every element anew; a new shape replaces the option.
      const shape = optionShape(built.option);
      t.chart.setOption(built.option, { notMerge: shape !== t.shape });
      t.shape = shape;
    }
    t.shown = shown;
    setAttr(t.el, 'data-rows', String(rows.rows.length));
  };

  /** Tiles to draw at the next animation frame, with their data. */
  const due = new Map<Tile, ReportData>();
  let frame: Promise<void> | undefined;

  /**
   * Draws `list` with `data` at the next animation frame, together with every other tile due by
   * then (one layout and paint for all of them; none while the page is hidden). A live update of a
   * tile out of view that already shows data waits until the tile scrolls in.
   */
  const drawSoon = (list: Tile[], data: ReportData, live: boolean): Promise<void> => {
    for (const t of list) {
      if (live && !t.inView && t.shown !== undefined) {
        t.pending = data;
        continue;
      }
      t.pending = undefined;
      due.set(t, data);
    }
    return (frame ??= new Promise<void>((resolve) =>
      requestAnimationFrame(() => {
        frame = undefined;
        const batch = [...due];
        due.clear();
        void Promise.all(batch.map(([t, d]) => drawTile(t, d))).then(() => {
          drawInline();
          showAges();
          resolve();
        });
      }),
    ));
  };

  /** Runs `queries` (again) and draws their tiles; `live`: because loads committed, not for the user. */
  const refresh = async (queries: string[], live = false): Promise<void> => {
    if (!detail) return;
    for (const q of queries) queued.add(q);
    if (!live) liveOnly = false;
    if (running) return;
    running = true;
    try {
      while (queued.size > 0) {
        const batch = [...queued];
        const batchLive = liveOnly;
        queued = new Set();
        liveOnly = true;
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
              data = {
                ran_at: '',
                results: { [q]: { error: { code: 'TRIB_E_UNAVAILABLE', message: (err as Error).message } } },
                charts: {},
              };
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
            await drawSoon(
              [...tiles.values()].filter((t) => t.c.options.query === q),
              data,
              batchLive,
            );
          }),
        );
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
    tiles.set(c.id, { c, el, body, meta, age, table: { sort: c.options.sort as string | undefined, page: 0 }, inView: true });
    views?.observe(el);
    return el;
  };

  const render = async (d: ReportDetail): Promise<void> => {
    const md = await markdown();
    // A chart redraws when its own box changes size, not when anything else on the page does.
    resizes = new ResizeObserver((entries) => {
      for (const e of entries)
        for (const t of tiles.values())
          if (t.chart && t.body.firstElementChild === e.target) {
            const { width, height } = e.contentRect;
            if (Math.round(width) !== t.chart.getWidth() || Math.round(height) !== t.chart.getHeight()) t.chart.resize();
          }
    });
    // Live updates of tiles out of view wait for them (200 px ahead, so a scroll finds them drawn).
    views = new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          const t = [...tiles.values()].find((x) => x.el === e.target);
          if (!t) continue;
          t.inView = e.isIntersecting;
          if (t.inView && t.pending) void drawSoon([t], t.pending, false);
        }
      },
      { rootMargin: '200px' },
    );
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
    showAges();
    // The chart library (1 MB) loads and compiles while the queries run, not after they answer.
    if (d.components.some((c) => CHARTS.has(c.kind))) echartsLib(d.components.some((c) => c.kind === 'map')).catch(() => undefined);
    // The first run waits for the first overview (up to 2 s): the data version comes from it, and
    // without it every query would run again when it comes, and pages opened together would not
    // share one run of each query.
    await Promise.race([firstOverview, new Promise((r) => setTimeout(r, 2000))]);
    await refresh(Object.keys(d.queries));
  };

  const page: Page = {
    title: 'Report · Tributary',
    nav: 'reports',
    mount(main) {
      document.addEventListener('visibilitychange', onVisibility);
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
      // A hidden page (a background tab) draws nothing and asks for nothing; it catches up when shown.
      if (document.visibilityState === 'hidden') return;
      showAges();
      if (!detail || detail.refresh !== 'live' || ranAt.size === 0) return;
      const now = Date.now();
      const stale = Object.keys(detail.queries).filter((q) =>
        detail!.queries[q]!.tables.length > 0 ? ranAt.get(q) !== version(q) && (nextAt.get(q) ?? 0) <= now : false,
      );
      if (stale.length > 0) void refresh(stale, true);
    },
    unmount() {
      document.removeEventListener('visibilitychange', onVisibility);
      resizes?.disconnect();
      views?.disconnect();
      for (const t of tiles.values()) t.chart?.dispose();
      tiles.clear();
    },
  };
  /** Shown again: the ages and every query the loads meanwhile made stale, at once. */
  function onVisibility(): void {
    if (document.visibilityState === 'visible' && overview) page.update(overview);
  }
  return page;
}

/**
 * One pipeline: live totals, flow, per-table counts and schema drift, throughput and latency charts over a chosen range (from the
 * stream log and the load ledger), errors per stage and code, and the most recent loads.
 *
 * Longer than 300 lines because it is one page whose sections share the pipeline's state and its
 * refresh.
 */
import { get } from './api.js';
import { driftTable } from './drift-panel.js';
import { sourceRunsPanel } from './source-runs-panel.js';
import { pipelinePausePanel } from './pipeline-pause-panel.js';
import { tableCountsTable } from './table-counts.js';
import { h, replaceRegion } from './dom.js';
import { flowDiagram } from './flow-diagram.js';
import { ago, duration, lagOf, num, rate, time } from './format.js';
import type { Page } from './page.js';
import { timeChart, type TimeChart } from './time-chart.js';
import type { CheckResult, ErrorGroup, Overview, RecentLoad, Series } from './types.js';
import { dataTable, pipelineBadges, tile } from './widgets.js';

const RANGES: [string, number][] = [
  ['5 m', 5],
  ['15 m', 15],
  ['1 h', 60],
  ['6 h', 360],
  ['24 h', 1440],
];
/** The charts and tables refresh at most this often (they cost queries; the totals are live). */
const REFRESH_MS = 5_000;

function errorsTable(pipeline: string, errors: ErrorGroup[]): HTMLElement {
  if (errors.length === 0) return h('p', { class: 'empty' }, 'No dead letters. Every record made it through or was filtered.');
  const query = (e: ErrorGroup) => new URLSearchParams({ pipeline, stage: e.stage, name: e.name, ...(e.code ? { code: e.code } : {}) });
  return dataTable<ErrorGroup>(
    [
      { head: 'Stage', cell: (e) => e.stage },
      { head: 'Source / dataset', cell: (e) => e.name },
      { head: 'Error', cell: (e) => h('a', { href: `/dlq?${query(e)}`, 'data-key': `err-${query(e)}` }, e.code ?? 'unknown') },
      { head: 'Total', class: 'num', cell: (e) => num(e.count) },
      { head: 'Open', class: 'num', cell: (e) => num(e.open) },
      { head: 'Last', class: 'hide-sm', cell: (e) => ago(e.last_failed_at) },
      { head: 'Example', cellClass: 'msg', cell: (e) => e.example ?? '' },
    ],
    errors,
  );
}

function checksTable(checks: CheckResult[]): HTMLElement {
  return dataTable<CheckResult>(
    [
      { head: 'Check', cell: (c) => [h('code', {}, c.check), h('div', { class: 'sub' }, `${c.kind} · ${c.severity}`)] },
      { head: 'Table', cell: (c) => c.table ?? '–' },
      {
        head: 'Result',
        cell: (c) => h('span', { class: `badge ${c.status === 'pass' ? 'ok' : c.severity === 'warn' ? 'warn' : 'bad'}` }, c.status),
      },
      { head: 'Failing rows', class: 'num', cell: (c) => num(c.failing_rows) },
      { head: 'Checked', class: 'hide-sm', cell: (c) => ago(c.checked_at) },
      { head: 'Detail', cellClass: 'msg', cell: (c) => c.error ?? '' },
    ],
    checks,
  );
}

function loadsTable(loads: RecentLoad[]): HTMLElement {
  if (loads.length === 0) return h('p', { class: 'empty' }, 'Nothing loaded yet.');
  return dataTable<RecentLoad>(
    [
      { head: 'Committed', cell: (l) => time(l.loaded_at) },
      { head: 'Table', cell: (l) => l.table },
      { head: 'Messages', class: 'num', cell: (l) => num(l.messages) },
      { head: 'Records', class: 'num', cell: (l) => num(l.records) },
      { head: 'Written', class: 'num', cell: (l) => num(l.written) },
      { head: 'Skipped', class: 'num hide-sm', cell: (l) => num(l.skipped) },
      {
        head: 'Stream seq',
        class: 'hide-sm',
        cell: (l) => (l.first_seq === null ? '–' : l.first_seq === l.last_seq ? String(l.first_seq) : `${l.first_seq}–${l.last_seq}`),
      },
      { head: 'Latency', class: 'num', cell: (l) => duration(l.max_latency_seconds) },
    ],
    loads,
  );
}

/** Creates the page of pipeline `name`. */
export function pipelinePage(name: string): Page {
  let minutes = Number(new URLSearchParams(location.search).get('minutes')) || 15;
  let head: HTMLElement;
  let tiles: HTMLElement;
  let flow: HTMLElement;
  let tableCounts: HTMLElement;
  let drift: HTMLElement;
  let errors: HTMLElement;
  let loads: HTMLElement;
  let checks: HTMLElement;
  let checksSection: HTMLElement;
  let rangeBar: HTMLElement;
  const sources = sourceRunsPanel(name);
  const pause = pipelinePausePanel(name);
  const charts: TimeChart[] = [];
  let lastFetch = 0;
  let fetching = false;
  let gone = false;

  const refresh = async (force = false): Promise<void> => {
    if (fetching || gone || (!force && Date.now() - lastFetch < REFRESH_MS)) return;
    fetching = true;
    lastFetch = Date.now();
    const base = `/api/pipelines/${encodeURIComponent(name)}`;
    try {
      const [s, e, l, c] = await Promise.all([
        get<Series>(`${base}/series?minutes=${minutes}`),
        get<{ errors: ErrorGroup[] }>(`${base}/errors`),
        get<{ loads: RecentLoad[] }>(`${base}/loads`),
        get<{ checks: CheckResult[] }>(`${base}/checks`),
        sources.refresh(),
      ]);
      if (gone) return;
      const dead = s.t.map((_, i) => s.dead_lettered.ingest[i]! + s.dead_lettered.transform[i]! + s.dead_lettered.load[i]!);
      charts[0]?.update(s.t, [s.accepted, s.loaded, dead]);
      charts[1]?.update(s.t, [s.latency.p50, s.latency.p95, s.latency.max]);
      replaceRegion(errors, errorsTable(name, e.errors));
      replaceRegion(loads, loadsTable(l.loads));
      // Only pipelines that declare checks get the section.
      checksSection.hidden = c.checks.length === 0;
      replaceRegion(checks, checksTable(c.checks));
    } catch (err) {
      replaceRegion(errors, h('p', { class: 'notice bad' }, `Cannot load: ${(err as Error).message}`));
    } finally {
      fetching = false;
    }
  };

  const drawRanges = (): void => {
    replaceRegion(
      rangeBar,
      RANGES.map(([label, m]) =>
        h(
          'button',
          {
            type: 'button',
            'aria-pressed': String(m === minutes),
            'data-key': `range-${m}`,
            onclick: () => {
              minutes = m;
              history.replaceState(null, '', `?minutes=${m}`);
              drawRanges();
              void refresh(true);
            },
          },
          label,
        ),
      ),
    );
  };

  return {
    title: `${name} · Tributary`,
    nav: 'overview',
    mount(main) {
      head = h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, name)));
      tiles = h('section', { class: 'tiles', 'aria-label': 'Totals' });
      flow = h('div', { class: 'scroll-x' });
      tableCounts = h('div', {});
      drift = h('div', {});
      errors = h('div', {}, h('p', { class: 'empty' }, 'Loading…'));
      loads = h('div', {}, h('p', { class: 'empty' }, 'Loading…'));
      checks = h('div', {});
      checksSection = h(
        'section',
        { class: 'panel', 'aria-labelledby': 'h-checks', hidden: true },
        h('h2', { id: 'h-checks' }, 'Quality checks'),
        checks,
      );
      rangeBar = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Time range' });
      const throughput = h('div', {
        class: 'chart',
        role: 'img',
        'aria-label': 'Records per second accepted, loaded and dead-lettered over time',
      });
      const latency = h('div', { class: 'chart', role: 'img', 'aria-label': 'Seconds from ingest to warehouse commit over time' });
      main.replaceChildren(
        head,
        pause.section,
        tiles,
        h('section', { class: 'panel', 'aria-labelledby': 'h-flow' }, h('h2', { id: 'h-flow' }, 'Flow'), flow),
        h('section', { class: 'panel', 'aria-labelledby': 'h-tables' }, h('h2', { id: 'h-tables' }, 'Tables'), tableCounts),
        h('section', { class: 'panel', 'aria-labelledby': 'h-drift' }, h('h2', { id: 'h-drift' }, 'Schema drift'), drift),
        h('div', { class: 'page-head' }, h('h2', {}, 'Over time'), rangeBar),
        h(
          'div',
          { class: 'grid' },
          h('section', { class: 'panel', 'aria-labelledby': 'h-thr' }, h('h3', { id: 'h-thr' }, 'Throughput (records/s)'), throughput),
          h('section', { class: 'panel', 'aria-labelledby': 'h-lat' }, h('h3', { id: 'h-lat' }, 'Ingest-to-warehouse latency'), latency),
        ),
        sources.section,
        checksSection,
        h('section', { class: 'panel', 'aria-labelledby': 'h-err' }, h('h2', { id: 'h-err' }, 'Errors by stage'), errors),
        h('section', { class: 'panel', 'aria-labelledby': 'h-loads' }, h('h2', { id: 'h-loads' }, 'Recent loads'), loads),
      );
      drawRanges();
      charts.push(
        timeChart(
          throughput,
          [
            { label: 'accepted', color: '--accent' },
            { label: 'loaded', color: '--ok' },
            { label: 'dead-lettered', color: '--bad' },
          ],
          (v) => rate(v),
        ),
        timeChart(
          latency,
          [
            { label: 'p50', color: '--accent' },
            { label: 'p95', color: '--warn' },
            { label: 'max', color: '--bad', dash: [4, 4] },
          ],
          (v) => duration(v),
        ),
      );
      void refresh(true);
    },
    update(o: Overview) {
      const p = o.pipelines.find((x) => x.name === name);
      if (!p) {
        replaceRegion(head, h('div', {}, h('h1', {}, name), h('p', { class: 'notice bad' }, `No pipeline named "${name}" is loaded.`)));
        return;
      }
      replaceRegion(
        head,
        h('div', {}, h('h1', {}, p.name), p.topology.description ? h('p', { class: 'sub' }, p.topology.description) : null),
        pipelineBadges(p),
      );
      pause.update(p.paused);
      const loaded = Object.values(p.tables).reduce((n, t) => n + t.loaded, 0);
      const lag = (lagOf(p.lag.transformer) ?? 0) + (lagOf(p.lag.loader) ?? 0);
      replaceRegion(
        tiles,
        tile('Received', num(p.received), `${num(p.rejected)} rejected at ingest`),
        tile('Accepted', num(p.accepted), rate(p.rates.accepted)),
        tile('Loaded', num(loaded), `${rate(p.rates.loaded)} · last ${ago(p.last_loaded_at)}`),
        tile('Filtered', num(p.filtered)),
        tile(
          'Dead-lettered',
          num(p.dead_lettered.total),
          `ingest ${num(p.dead_lettered.ingest)} · transform ${num(p.dead_lettered.transform)} · load ${num(p.dead_lettered.load)}`,
          p.dead_lettered.total ? 'warn' : undefined,
        ),
        // Behind ingest (or a pull source overdue); a stale source time has its own tile.
        tile(
          'Freshness',
          duration(p.freshness_seconds),
          `SLA ${duration(p.sla.freshness_seconds)}`,
          p.freshness_seconds > p.sla.freshness_seconds || (p.stale_sources?.length ?? 0) > 0 ? 'bad' : undefined,
        ),
        // Now minus the newest source time loaded: grows when a source, the ingest or the loader stops.
        p.source_freshness_seconds === null
          ? tile('Source freshness', '–', 'no source time (its sources have none)')
          : tile(
              'Source freshness',
              duration(p.source_freshness_seconds),
              `newest source time loaded · SLA ${duration(p.sla.freshness_seconds)} · per table below`,
              p.source_freshness_seconds > p.sla.freshness_seconds ? 'bad' : undefined,
            ),
        tile('Waiting', num(lag), 'messages in transform + load'),
        // Read from the source database by the monitor: shown (and alerting) while the ingest-api is down.
        ...(p.source_slots ?? []).map((s) =>
          s.lag_seconds === null
            ? tile(`Slot ${s.source}`, '?', s.error ?? 'not readable', 'warn')
            : tile(
                `Slot ${s.source}`,
                duration(s.lag_seconds),
                `${num(s.lag_bytes ?? 0)} bytes of WAL behind · ${s.active ? 'streaming' : 'no reader'}`,
                s.lag_seconds > 300 ? 'bad' : s.active ? undefined : 'warn',
              ),
        ),
        // Source transactions land whole: the position every transaction up to is in the warehouse.
        ...(p.source_consistency ?? []).map((c) =>
          tile(
            `Consistent as of (${c.source})`,
            c.lsn ?? 'nothing yet',
            `${c.commit_time ? `committed ${c.commit_time}` : 'no transaction loaded'}${
              c.waiting_batches > 0 ? ` · ${num(c.waiting_batches)} batch(es) waiting for their other messages` : ''
            }`,
            (c.oldest_waiting_seconds ?? 0) > 60 ? 'warn' : undefined,
          ),
        ),
      );
      replaceRegion(flow, flowDiagram(p));
      replaceRegion(tableCounts, tableCountsTable(p));
      replaceRegion(drift, driftTable(p.drift ?? []));
      void refresh();
    },
    unmount() {
      gone = true;
      for (const c of charts.splice(0)) c.destroy();
    },
  };
}

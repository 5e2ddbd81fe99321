/**
 * Small pieces several pages share: summary tiles, freshness and lag badges, service replicas.
 */
import { h, type Attrs, type Child } from './dom.js';
import { ago, bytes, duration, lagOf, num } from './format.js';
import type { PipelineOverview, Service } from './types.js';

/** One column of a data table: its heading, and each row's cell. */
export interface Column<T> {
  head: string;
  /** Class of the heading and the cells (`num`, `hide-sm`). */
  class?: string;
  /** Class of the cells alone (`msg`). */
  cellClass?: string;
  /** The heading's tooltip. */
  title?: string;
  cell: (row: T) => Child;
  /** More attributes of a row's cell (a tooltip). */
  cellAttrs?: (row: T) => Attrs;
}

/** A scrollable table of `rows`, one cell per column; `rowAttrs` gives a row's attributes (`data-key`). */
export function dataTable<T>(columns: readonly Column<T>[], rows: readonly T[], rowAttrs?: (row: T) => Attrs): HTMLElement {
  return h(
    'div',
    { class: 'scroll-x' },
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { class: c.class, title: c.title }, c.head)))),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h('tr', rowAttrs?.(r) ?? {}, ...columns.map((c) => h('td', { class: c.cellClass ?? c.class, ...c.cellAttrs?.(r) }, c.cell(r)))),
        ),
      ),
    ),
  );
}

/** A pipeline's badges: freshness, the two stages' lag, dead letters. */
export function pipelineBadges(p: PipelineOverview): HTMLElement {
  return h(
    'div',
    { class: 'badges' },
    freshnessBadge(p),
    lagBadge('transform', p.lag.transformer),
    lagBadge('load', p.lag.loader),
    dlqBadge(p),
  );
}

/** A summary tile. */
export function tile(label: string, value: string, hint?: string, tone?: 'bad' | 'warn'): HTMLElement {
  return h(
    'div',
    { class: `tile${tone ? ` ${tone}` : ''}` },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, value),
    hint ? h('div', { class: 'hint' }, hint) : null,
  );
}

/** Freshness against the SLA, as a badge. */
export function freshnessBadge(p: PipelineOverview): HTMLElement {
  const sla = duration(p.sla.freshness_seconds);
  return p.fresh
    ? h('span', { class: 'badge ok' }, `Fresh · ${duration(p.freshness_seconds)} behind · SLA ${sla}`)
    : p.freshness_seconds <= p.sla.freshness_seconds && p.source_freshness_seconds !== null
      ? h('span', { class: 'badge bad' }, `SLA breached · sources ${duration(p.source_freshness_seconds)} old · SLA ${sla}`)
      : h('span', { class: 'badge bad' }, `SLA breached · ${duration(p.freshness_seconds)} behind · SLA ${sla}`);
}

/** Lag of a stage as a badge. */
export function lagBadge(stage: string, l: { pending: number | null; ack_pending: number | null }): HTMLElement {
  const lag = lagOf(l);
  // A few messages in flight are normal; hundreds waiting are worth a look.
  const tone = lag === null ? 'warn' : lag < 100 ? 'ok' : lag >= 1000 ? 'bad' : 'warn';
  return h('span', { class: `badge ${tone}` }, `${stage} lag ${lag === null ? 'unknown' : num(lag)}`);
}

/** Dead letters as a badge linking to the console. */
export function dlqBadge(p: PipelineOverview): HTMLElement {
  const n = p.dead_lettered.total;
  return h(
    'a',
    { class: `badge ${n > 0 ? 'bad' : 'ok'}`, href: `/dlq?pipeline=${encodeURIComponent(p.name)}`, 'data-key': `dlq-${p.name}` },
    `${num(n)} dead-lettered`,
  );
}

const STATE_TEXT = { live: 'live', not_ready: 'not ready', missing: 'missing', stopped: 'stopped' } as const;

/** The replicas of every service as a table. */
export function servicesTable(services: Service[]): HTMLElement {
  if (services.length === 0) return h('p', { class: 'empty' }, 'No heartbeats yet.');
  const now = Date.now();
  return h(
    'div',
    { class: 'scroll-x' },
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, 'Service replicas from their heartbeats'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Service'),
          h('th', {}, 'Replica'),
          h('th', {}, 'State'),
          h('th', { class: 'hide-sm' }, 'Up'),
          h('th', {}, 'Last beat'),
          h('th', { class: 'num hide-sm' }, 'Memory'),
        ),
      ),
      h(
        'tbody',
        {},
        services.flatMap((s) =>
          s.replicas.length === 0
            ? [
                h(
                  'tr',
                  {},
                  h('th', { scope: 'row' }, s.service),
                  h('td', { colspan: 5 }, h('span', { class: 'badge bad' }, 'no replica reporting')),
                ),
              ]
            : s.replicas.map((r, i) =>
                h(
                  'tr',
                  {},
                  i === 0
                    ? h('th', { scope: 'row', rowspan: s.replicas.length }, s.service, h('div', { class: 'sub' }, `${s.live} live`))
                    : null,
                  h('td', {}, h('code', {}, `${r.host}:${r.pid}`)),
                  h(
                    'td',
                    {},
                    h('span', { class: `state-dot ${r.state}`, 'aria-hidden': 'true' }),
                    STATE_TEXT[r.state],
                    r.not_ready ? h('div', { class: 'sub' }, r.not_ready) : null,
                  ),
                  h('td', { class: 'hide-sm' }, duration((now - Date.parse(r.started_at)) / 1000)),
                  h('td', {}, ago(r.last_seen, now)),
                  h('td', { class: 'num hide-sm' }, bytes(r.rss_bytes)),
                ),
              ),
        ),
      ),
    ),
  );
}

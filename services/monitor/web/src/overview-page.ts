/**
 * The overview: totals, every pipeline as a live flow with its freshness, lag and dead letters,
 * the service replicas and the alerts pending or firing.
 */
import { h, replaceRegion } from './dom.js';
import { flowDiagram } from './flow-diagram.js';
import { ago, lagOf, num, rate } from './format.js';
import type { Page } from './page.js';
import type { ActiveAlert, Overview, PipelineOverview } from './types.js';
import { clusterPanel } from './cluster-panel.js';
import { pipelineBadges, servicesTable, tile } from './widgets.js';

function pipelineCard(p: PipelineOverview): HTMLElement {
  return h(
    'article',
    { class: 'panel pipeline-card', 'aria-labelledby': `p-${p.name}` },
    h(
      'header',
      {},
      h(
        'div',
        {},
        h('h2', { id: `p-${p.name}` }, h('a', { href: `/pipelines/${encodeURIComponent(p.name)}`, 'data-key': `p-${p.name}` }, p.name)),
        p.topology.description ? h('p', { class: 'sub' }, p.topology.description) : null,
      ),
      pipelineBadges(p),
    ),
    h(
      'dl',
      { class: 'stats' },
      [
        ['In', rate(p.rates.accepted)],
        ['Loaded', rate(p.rates.loaded)],
        ['Accepted', num(p.accepted)],
        ['Loaded total', num(Object.values(p.tables).reduce((n, t) => n + t.loaded, 0))],
        ['Filtered', num(p.filtered)],
        ['Last load', ago(p.last_loaded_at)],
      ].map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))),
    ),
    h('div', { class: 'scroll-x' }, flowDiagram(p)),
  );
}

/** The alerts list shared with the alerts page. */
export function alertList(alerts: ActiveAlert[]): HTMLElement {
  if (alerts.length === 0) return h('p', { class: 'empty' }, 'No alerts. Everything is within its thresholds.');
  return h(
    'ul',
    { class: 'alert-list' },
    alerts.map((a) =>
      h(
        'li',
        {},
        h(
          'span',
          { class: `badge ${a.state === 'firing' ? (a.severity === 'critical' ? 'bad' : 'warn') : ''}` },
          a.state === 'firing' ? a.severity : 'pending',
        ),
        ' ',
        h('strong', {}, a.alert),
        ' ',
        a.summary,
        h('span', { class: 'sub' }, ` · since ${ago(a.firedAt ?? a.activeSince)}`),
      ),
    ),
  );
}

/** Creates the overview page. */
export function overviewPage(): Page {
  let tiles: HTMLElement;
  let pipelines: HTMLElement;
  let services: HTMLElement;
  let alerts: HTMLElement;
  let cluster: HTMLElement;
  return {
    title: 'Overview · Tributary',
    nav: 'overview',
    mount(main) {
      tiles = h('section', { class: 'tiles', 'aria-label': 'Totals' });
      pipelines = h('section', { 'aria-label': 'Pipelines' }, h('p', { class: 'empty' }, 'Loading pipelines…'));
      alerts = h('div', {});
      services = h('div', {});
      cluster = h('div', {});
      main.replaceChildren(
        h(
          'div',
          { class: 'page-head' },
          h(
            'div',
            {},
            h('h1', {}, 'Pipelines'),
            h('p', { class: 'sub' }, 'Live flow from sources to warehouse tables, updated every few seconds.'),
          ),
        ),
        tiles,
        pipelines,
        h(
          'div',
          { class: 'grid' },
          h('section', { class: 'panel', 'aria-labelledby': 'h-alerts' }, h('h2', { id: 'h-alerts' }, 'Alerts'), alerts),
          h('section', { class: 'panel', 'aria-labelledby': 'h-services' }, h('h2', { id: 'h-services' }, 'Services'), services),
          h('section', { class: 'panel', 'aria-labelledby': 'h-cluster' }, h('h2', { id: 'h-cluster' }, 'NATS cluster'), cluster),
        ),
      );
    },
    update(o: Overview) {
      const sum = (f: (p: PipelineOverview) => number): number => o.pipelines.reduce((n, p) => n + f(p), 0);
      const breached = o.pipelines.filter((p) => !p.fresh).length;
      const firing = o.alerts.filter((a) => a.state === 'firing').length;
      const lag = sum((p) => (lagOf(p.lag.transformer) ?? 0) + (lagOf(p.lag.loader) ?? 0));
      const down = o.services.filter((s) => s.live === 0).length;
      replaceRegion(
        tiles,
        tile(
          'Records in',
          rate(sum((p) => p.rates.accepted)),
          `${num(
            sum((p) => p.accepted),
            true,
          )} accepted in total`,
        ),
        tile(
          'Records loaded',
          rate(sum((p) => p.rates.loaded)),
          `${num(
            sum((p) => Object.values(p.tables).reduce((n, t) => n + t.loaded, 0)),
            true,
          )} in total`,
        ),
        tile(
          'Freshness',
          breached ? `${breached} breached` : 'All fresh',
          `${o.pipelines.length} pipeline${o.pipelines.length === 1 ? '' : 's'}`,
          breached ? 'bad' : undefined,
        ),
        tile('Messages waiting', num(lag), 'transform + load lag', lag > 1000 ? 'warn' : undefined),
        tile(
          'Dead letters',
          num(sum((p) => p.dead_lettered.total)),
          'all stages',
          sum((p) => p.dead_lettered.total) > 0 ? 'warn' : undefined,
        ),
        tile(
          'Alerts firing',
          num(firing),
          down ? `${down} services without a live replica` : 'services healthy',
          firing ? 'bad' : undefined,
        ),
      );
      replaceRegion(
        pipelines,
        o.pipelines.length ? o.pipelines.map(pipelineCard) : h('p', { class: 'panel empty' }, 'No pipelines are loaded.'),
      );
      replaceRegion(alerts, alertList(o.alerts));
      replaceRegion(services, servicesTable(o.services));
      replaceRegion(cluster, clusterPanel(o.cluster));
    },
  };
}

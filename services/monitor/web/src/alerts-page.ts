/**
 * Alerts: what is pending or firing now (live), the recent history of firing and resolved
 * alerts, and what each rule watches.
 */
import { get } from './api.js';
import { h, replaceRegion } from './dom.js';
import { time } from './format.js';
import { alertList } from './overview-page.js';
import type { Page } from './page.js';
import type { AlertEvent, Overview } from './types.js';

/** What each rule means (the thresholds are the monitor's MONITOR_ALERT_* settings). */
const RULES: [string, string][] = [
  [
    'TributaryFreshnessBreach',
    'Warehouse data is further behind ingest, or its newest source time is older, than the pipeline’s freshness SLA.',
  ],
  ['TributaryConsumerLag', 'More messages wait for the transformer or loader than the lag threshold.'],
  ['TributaryDlqGrowth', 'More records were dead-lettered within the window than the growth threshold.'],
  ['TributaryErrorRate', 'The share of accepted records failing in transform or load exceeds the threshold.'],
  ['TributaryReplicaMissing', 'A service replica stopped sending heartbeats without saying goodbye.'],
  ['TributaryServiceDown', 'A service has no live replica at all.'],
  ['TributaryQualityCheckFailed', 'The latest run of a data-quality check failed.'],
  [
    'TributaryTableBlocked',
    'A warehouse table is stopped by an incompatible schema change; its records are dead-lettered until it is fixed and migrated.',
  ],
  ['TributaryNatsClusterDegraded', 'A NATS server is down, or a stream has no leader or a lagging or offline replica.'],
  ['TributaryMonitorStatusDown', 'The monitor cannot read pipeline status (PostgreSQL unreachable); other alerts hold as they were.'],
];

/** Creates the alerts page. */
export function alertsPage(): Page {
  let active: HTMLElement;
  let history: HTMLElement;
  let last = 0;
  const loadHistory = async (): Promise<void> => {
    last = Date.now();
    const r = await get<{ history: AlertEvent[] }>('/api/alerts');
    replaceRegion(
      history,
      r.history.length === 0
        ? h('p', { class: 'empty' }, 'No alert has fired yet.')
        : h(
            'div',
            { class: 'scroll-x' },
            h(
              'table',
              {},
              h('thead', {}, h('tr', {}, h('th', {}, 'When'), h('th', {}, 'Status'), h('th', {}, 'Alert'), h('th', {}, 'Summary'))),
              h(
                'tbody',
                {},
                r.history.map((e) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, time(e.at)),
                    h('td', {}, h('span', { class: `badge ${e.status === 'firing' ? 'bad' : 'ok'}` }, e.status)),
                    h(
                      'td',
                      {},
                      h('strong', {}, e.alert),
                      h(
                        'div',
                        { class: 'sub' },
                        Object.entries(e.labels)
                          .map(([k, v]) => `${k}=${v}`)
                          .join(', '),
                      ),
                    ),
                    h('td', { class: 'msg' }, e.summary),
                  ),
                ),
              ),
            ),
          ),
    );
  };
  return {
    title: 'Alerts · Tributary',
    nav: 'alerts',
    mount(main) {
      active = h('div', {}, h('p', { class: 'empty' }, 'Loading…'));
      history = h('div', {});
      main.replaceChildren(
        h(
          'div',
          { class: 'page-head' },
          h(
            'div',
            {},
            h('h1', {}, 'Alerts'),
            h(
              'p',
              { class: 'sub' },
              'Evaluated by the monitor every few seconds; notified to the configured webhooks, email and Alertmanager when they fire and when they resolve.',
            ),
          ),
        ),
        h('section', { class: 'panel', 'aria-labelledby': 'h-active' }, h('h2', { id: 'h-active' }, 'Now'), active),
        h('section', { class: 'panel', 'aria-labelledby': 'h-history' }, h('h2', { id: 'h-history' }, 'History'), history),
        h(
          'section',
          { class: 'panel', 'aria-labelledby': 'h-rules' },
          h('h2', { id: 'h-rules' }, 'Rules'),
          h(
            'dl',
            {},
            RULES.map(([name, text]) => [h('dt', {}, h('code', {}, name)), h('dd', {}, text)]),
          ),
        ),
      );
      void loadHistory().catch(() => undefined);
    },
    update(o: Overview) {
      replaceRegion(active, alertList(o.alerts));
      if (Date.now() - last > 5_000) void loadHistory().catch(() => undefined);
    },
  };
}

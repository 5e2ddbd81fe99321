/**
 * The pipeline page's schema drift: per dataset, field and kind, what the records brought (a new
 * field, a missing required one, a changed type), the `on_drift` policy and what it did to them
 * (dead-lettered, value or row dropped, column added), how many and when, newest first, from the
 * status's `drift` list (docs/transforms.md, Schema drift). A row whose latest event is recent is
 * marked: that is what the TributarySchemaDrift alert fires on.
 */
import { h } from './dom.js';
import { ago, num } from './format.js';
import type { DriftView } from './types.js';

/** What each action means for the records, as the table says it. */
const ACTIONS: Record<string, string> = {
  dead_lettered: 'dead-lettered',
  value_dropped: 'value left out',
  row_dropped: 'row dropped (filtered)',
  column_added: 'column added',
};

/** Latest event younger than this: shown as recent (the alert's window is five minutes by default). */
const RECENT_SECONDS = 300;

/** The drift table, or a line saying there is none. */
export function driftTable(drift: DriftView[]): HTMLElement {
  if (drift.length === 0) return h('p', { class: 'empty' }, 'No schema drift: every record fits its dataset’s fields.');
  return h(
    'div',
    { class: 'scroll-x' },
    h(
      'table',
      { class: 'drift' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Dataset'),
          h('th', {}, 'Field'),
          h('th', {}, 'Drift'),
          h('th', {}, 'Policy'),
          h('th', {}, 'Records'),
          h('th', { class: 'num' }, 'Count'),
          h('th', { class: 'hide-sm' }, 'First seen'),
          h('th', {}, 'Last seen'),
        ),
      ),
      h(
        'tbody',
        {},
        drift.map((d) => {
          const what =
            d.kind === 'new'
              ? `new (${d.seen})`
              : d.kind === 'missing'
                ? `missing (${d.expected ?? '?'})`
                : `type changed: ${d.expected ?? '?'} → ${d.seen}`;
          const action = ACTIONS[d.action] ?? d.action;
          const bad = d.action === 'dead_lettered' || d.action === 'row_dropped';
          return h(
            'tr',
            { 'data-key': `drift-${d.dataset}-${d.field}-${d.kind}` },
            h('td', {}, d.dataset, h('div', { class: 'sub' }, `from ${d.source}`)),
            h('td', {}, h('code', {}, d.field)),
            h('td', {}, what),
            h('td', {}, h('code', {}, d.policy)),
            h(
              'td',
              {},
              h('span', { class: `badge ${bad ? 'bad' : 'warn'}` }, action),
              d.column_type ? h('div', { class: 'sub' }, d.column_type) : null,
            ),
            h('td', { class: 'num' }, num(d.count)),
            h('td', { class: 'hide-sm' }, ago(d.first_seen)),
            h('td', {}, ago(d.last_seen), d.event_age_seconds < RECENT_SECONDS ? h('div', { class: 'sub' }, 'recent: alerting') : null),
          );
        }),
      ),
    ),
  );
}

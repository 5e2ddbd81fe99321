/**
 * The pipeline page's per-table counts: records loaded into each warehouse table and what they
 * did there (inserted, updated, unchanged and not rewritten, skipped; docs/warehouse.md, Load
 * counts), beside the records dead-lettered on their way in, and how old the newest source time
 * loaded into each is (docs/design.md, Wire contract, Source time).
 */
import { h } from './dom.js';
import { duration, num } from './format.js';
import type { PipelineOverview } from './types.js';

/** The table of per-table counts, live from the overview. */
export function tableCountsTable(p: PipelineOverview): HTMLElement {
  if (p.topology.tables.length === 0) return h('p', { class: 'empty' }, 'This pipeline has no tables.');
  const cell = (n: number, cls = 'num'): HTMLElement => h('td', { class: cls }, num(n));
  return h(
    'div',
    { class: 'scroll-x' },
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Table'),
          h('th', { class: 'hide-sm' }, 'Mode'),
          h('th', { class: 'num' }, 'Loaded'),
          h('th', { class: 'num', title: 'Records that created a row' }, 'Inserted'),
          h('th', { class: 'num', title: 'Records that changed a row' }, 'Updated'),
          h('th', { class: 'num', title: 'Records whose row already held their values (not rewritten)' }, 'Unchanged'),
          h('th', { class: 'num', title: 'Records that did nothing to the table' }, 'Skipped'),
          h('th', { class: 'num hide-sm' }, 'Dead-lettered'),
          h('th', { class: 'num', title: 'Now minus the newest source time loaded into the table' }, 'Source freshness'),
        ),
      ),
      h(
        'tbody',
        {},
        p.topology.tables.map((t) => {
          const c = p.tables[t.name];
          return h(
            'tr',
            { 'data-key': `table-${t.name}` },
            h('td', {}, t.name),
            h('td', { class: 'hide-sm' }, t.mode),
            cell(c?.loaded ?? 0),
            cell(c?.inserted ?? 0),
            cell(c?.updated ?? 0),
            cell(c?.unchanged ?? 0),
            cell(c?.skipped ?? 0),
            cell(c?.dead_lettered ?? 0, 'num hide-sm'),
            h(
              'td',
              { class: 'num', title: c?.newest_source_time ?? 'no source time loaded' },
              c?.source_freshness_seconds === null || c?.source_freshness_seconds === undefined
                ? '–'
                : duration(c.source_freshness_seconds),
            ),
          );
        }),
      ),
    ),
  );
}

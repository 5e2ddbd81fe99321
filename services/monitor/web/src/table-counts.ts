/**
 * The pipeline page's per-table counts: records loaded into each warehouse table and what they
 * did there (inserted, updated, unchanged and not rewritten, skipped; docs/warehouse.md, Load
 * counts), beside the records dead-lettered on their way in, and how old the newest source time
 * loaded into each is (docs/design.md, Wire contract, Source time).
 */
import { h } from './dom.js';
import { duration, num } from './format.js';
import type { PipelineOverview } from './types.js';
import { dataTable } from './widgets.js';

/** The table of per-table counts, live from the overview. */
export function tableCountsTable(p: PipelineOverview): HTMLElement {
  if (p.topology.tables.length === 0) return h('p', { class: 'empty' }, 'This pipeline has no tables.');
  type Row = PipelineOverview['topology']['tables'][number];
  const counts = (t: Row) => p.tables[t.name];
  const count = (head: string, key: 'loaded' | 'inserted' | 'updated' | 'unchanged' | 'skipped' | 'dead_lettered', title?: string) => ({
    head,
    class: key === 'dead_lettered' ? 'num hide-sm' : 'num',
    title,
    cell: (t: Row) => num(counts(t)?.[key] ?? 0),
  });
  return dataTable<Row>(
    [
      { head: 'Table', cell: (t) => t.name },
      { head: 'Mode', class: 'hide-sm', cell: (t) => t.mode },
      count('Loaded', 'loaded'),
      count('Inserted', 'inserted', 'Records that created a row'),
      count('Updated', 'updated', 'Records that changed a row'),
      count('Unchanged', 'unchanged', 'Records whose row already held their values (not rewritten)'),
      count('Skipped', 'skipped', 'Records that did nothing to the table'),
      count('Dead-lettered', 'dead_lettered'),
      {
        head: 'Source freshness',
        class: 'num',
        title: 'Now minus the newest source time loaded into the table',
        cellAttrs: (t) => ({ title: counts(t)?.newest_source_time ?? 'no source time loaded' }),
        cell: (t) => {
          const s = counts(t)?.source_freshness_seconds;
          return s === null || s === undefined ? '–' : duration(s);
        },
      },
    ],
    p.topology.tables,
    (t) => ({ 'data-key': `table-${t.name}` }),
  );
}

/**
 * `/reports`: every report in the reports folder, with its pipelines and whether it has problems.
 */
import { get } from '../api.js';
import { h, replaceRegion } from '../dom.js';
import type { Page } from '../page.js';
import type { ReportSummary } from './report-types.js';

/** The list of reports. */
export function reportsPage(): Page {
  const list = h('div', { class: 'report-list', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading reports…'));
  return {
    title: 'Reports · Tributary',
    nav: 'reports',
    mount(main) {
      main.replaceChildren(
        h('h1', {}, 'Reports'),
        h('p', { class: 'muted' }, 'Markdown and SQL files in the reports folder, refreshed as loads commit.'),
        list,
      );
      get<{ reports: ReportSummary[] }>('/api/reports').then(
        ({ reports }) =>
          replaceRegion(
            list,
            reports.length === 0
              ? h('p', { class: 'panel' }, 'No reports yet: add a Markdown file to the reports folder (docs/reports.md says how).')
              : reports.map((r) =>
                  h(
                    'article',
                    { class: 'panel report-card' },
                    h('h2', {}, h('a', { href: r.url }, r.title)),
                    r.description ? h('p', {}, r.description) : null,
                    h(
                      'p',
                      { class: 'muted' },
                      `Pipelines: ${r.pipelines.join(', ') || '–'} · ${r.refresh === 'live' ? 'live' : 'manual refresh'}`,
                      r.problems > 0 ? h('span', { class: 'badge bad' }, ` ${r.problems} problem${r.problems > 1 ? 's' : ''}`) : null,
                    ),
                  ),
                ),
          ),
        (err: Error) => replaceRegion(list, h('p', { class: 'panel error' }, `Cannot list reports: ${err.message}`)),
      );
    },
    update() {},
  };
}

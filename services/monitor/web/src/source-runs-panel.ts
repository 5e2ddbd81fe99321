/**
 * The pull sources of a pipeline on its page: each source's status, last run (outcome, pages,
 * records, error), next run and consecutive failures, with Pause and Resume (admin token, as on
 * the DLQ page). Data from `GET /api/pipelines/<name>/sources`; only pipelines with pull sources
 * show the section.
 */
import { ApiError, credentials, get, post } from './api.js';
import { h, replaceRegion } from './dom.js';
import { ago, num, time } from './format.js';
import type { SourceRunView as SourceRun } from './types.js';

const TONE: Record<SourceRun['status'], string> = {
  ok: 'ok',
  partial: 'warn',
  failing: 'bad',
  overdue: 'bad',
  paused: 'warn',
  pending: '',
};

/** The section and its refresh. */
export function sourceRunsPanel(pipeline: string): { section: HTMLElement; refresh: () => Promise<void> } {
  const body = h('div', {});
  const notice = h('p', { class: 'notice', hidden: true, role: 'status' });
  const section = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'h-sources', hidden: true },
    h('h2', { id: 'h-sources' }, 'Pull sources'),
    notice,
    body,
  );
  const base = `/api/pipelines/${encodeURIComponent(pipeline)}/sources`;
  const say = (text: string, tone: 'ok' | 'bad'): void => {
    notice.hidden = false;
    notice.className = `notice ${tone}`;
    notice.textContent = text;
  };

  const act = async (source: string, action: 'pause' | 'resume'): Promise<void> => {
    if (!credentials.token) {
      say('Enter the admin token first (on the Dead letters page; set MONITOR_ADMIN_TOKEN on the monitor).', 'bad');
      return;
    }
    try {
      await post(`${base}/${encodeURIComponent(source)}/${action}`, {});
      say(`${source} ${action === 'pause' ? 'paused: its next run waits for resume' : 'resumed'}.`, 'ok');
      await refresh();
    } catch (err) {
      say(`Cannot ${action} ${source}: ${err instanceof ApiError ? err.message : String(err)}`, 'bad');
    }
  };

  const draw = (runs: SourceRun[]): HTMLElement =>
    h(
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
            h('th', {}, 'Source'),
            h('th', {}, 'Status'),
            h('th', {}, 'Last run'),
            h('th', { class: 'num' }, 'Pages'),
            h('th', { class: 'num' }, 'Records'),
            h('th', {}, 'Next run'),
            h('th', {}, 'Error'),
            h('th', {}, ''),
          ),
        ),
        h(
          'tbody',
          {},
          runs.map((r) =>
            h(
              'tr',
              { 'data-source': r.source },
              h('td', {}, h('code', {}, r.source), h('div', { class: 'sub' }, r.kind)),
              h(
                'td',
                {},
                h('span', { class: `badge ${TONE[r.status]}` }, r.status),
                r.consecutive_failures > 0 ? h('div', { class: 'sub' }, `${r.consecutive_failures} failed in a row`) : null,
                r.paused ? h('div', { class: 'sub' }, `by ${r.paused.by} ${ago(r.paused.at)}`) : null,
              ),
              h(
                'td',
                {},
                r.last ? `${r.last.outcome} ${ago(r.last.finished_at)}` : '–',
                h('div', { class: 'sub' }, r.last_success_at ? `last ok ${ago(r.last_success_at)}` : 'never ok'),
              ),
              h('td', { class: 'num' }, num(r.last?.pages ?? null)),
              h('td', { class: 'num' }, num(r.last?.records ?? null)),
              h('td', {}, r.paused ? 'paused' : time(r.next_run_at)),
              h('td', { class: 'msg' }, r.last?.error ?? ''),
              h(
                'td',
                {},
                h(
                  'button',
                  { type: 'button', 'data-key': `src-${r.source}`, onclick: () => void act(r.source, r.paused ? 'resume' : 'pause') },
                  r.paused ? 'Resume' : 'Pause',
                ),
              ),
            ),
          ),
        ),
      ),
    );

  const refresh = async (): Promise<void> => {
    const { sources } = await get<{ sources: SourceRun[] }>(base);
    section.hidden = sources.length === 0;
    replaceRegion(body, draw(sources));
  };
  return { section, refresh };
}

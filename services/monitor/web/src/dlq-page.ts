/**
 * The DLQ console: search dead letters by pipeline, stage, name, error code, text and status;
 * inspect each record and its error; see them grouped by cause and fix a group or a selection,
 * with a preview (dlq-fix-panel.ts); replay or discard one, a selection, or everything matching
 * (behind the admin token), with each replay's outcome; and read the audit trail of past actions.
 *
 * Longer than 300 lines because the console is one page whose list, detail and audit views share
 * its filter and selection (the fix panel is its own file).
 */
import { ApiError, credentials, get, post } from './api.js';
import { describeOutcome, fixPanels } from './dlq-fix-panel.js';
import { h, replaceRegion } from './dom.js';
import { num, time } from './format.js';
import type { Page } from './page.js';
import type { ActionResult, DeadLetter, DlqAction, Overview } from './types.js';

const FILTERS = ['pipeline', 'stage', 'name', 'code', 'q', 'status'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;
const PAGE = 50;

function readFilters(): Filters {
  const u = new URLSearchParams(location.search);
  const f: Filters = {};
  for (const k of FILTERS) {
    const v = u.get(k);
    if (v) f[k] = v;
  }
  return f;
}

function select(name: string, label: string, value: string | undefined, options: [string, string][]): HTMLElement {
  return h(
    'label',
    { class: 'field' },
    label,
    h(
      'select',
      { name },
      options.map(([v, text]) => h('option', { value: v, selected: v === (value ?? '') }, text)),
    ),
  );
}

function input(name: string, label: string, value: string | undefined, attrs: Record<string, string> = {}): HTMLElement {
  return h('label', { class: 'field' }, label, h('input', { name, value: value ?? '', ...attrs }));
}

/** Creates the DLQ console. */
export function dlqPage(): Page {
  let filters = readFilters();
  let rows: DeadLetter[] = [];
  const selected = new Set<number>();
  let exhausted = false;
  let pipelines: string[] = [];
  let adminEnabled = false;
  let form: HTMLFormElement;
  let list: HTMLElement;
  let actionsBar: HTMLElement;
  let status: HTMLElement;
  let audit: HTMLElement;
  let more: HTMLButtonElement;
  let busy = false;
  const panels = fixPanels({
    refresh: async () => {
      await Promise.all([load(), loadAudit()]);
    },
    adminEnabled: () => adminEnabled,
  });

  const query = (extra: Record<string, string> = {}): string =>
    new URLSearchParams({ ...filters, limit: String(PAGE), ...extra } as Record<string, string>).toString();

  const say = (text: string, tone: '' | 'ok' | 'bad' = ''): void => {
    status.className = `notice ${tone}`;
    status.textContent = text;
  };

  const load = async (append = false): Promise<void> => {
    const before: Record<string, string> = append && rows.length ? { before: String(rows.at(-1)!.seq) } : {};
    const r = await get<{ dead_letters: DeadLetter[] }>(`/api/dlq?${query(before)}`);
    rows = append ? [...rows, ...r.dead_letters] : r.dead_letters;
    exhausted = r.dead_letters.length < PAGE;
    if (!append) selected.clear();
    draw();
    if (!append) await panels.loadGroups(filters as Record<string, string>);
  };

  const loadAudit = async (): Promise<void> => {
    const r = await get<{ actions: DlqAction[] }>('/api/dlq/actions?limit=20');
    replaceRegion(
      audit,
      r.actions.length === 0
        ? h('p', { class: 'empty' }, 'No actions yet.')
        : h(
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
                  h('th', {}, 'When'),
                  h('th', {}, 'Action'),
                  h('th', {}, 'By'),
                  h('th', {}, 'Selection'),
                  h('th', {}, 'Fix'),
                  h('th', { class: 'num' }, 'Done'),
                  h('th', { class: 'num' }, 'Skipped'),
                  h('th', { class: 'num' }, 'Failed'),
                ),
              ),
              h(
                'tbody',
                {},
                r.actions.map((a) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, time(a.at)),
                    h('td', {}, a.action),
                    h('td', {}, a.actor),
                    h('td', {}, h('code', {}, JSON.stringify(a.selection).slice(0, 120))),
                    h('td', {}, a.fix ? h('code', {}, JSON.stringify(a.fix).slice(0, 120)) : '–'),
                    h('td', { class: 'num' }, num(a.done)),
                    h('td', { class: 'num' }, num(a.skipped)),
                    h('td', { class: 'num' }, num(a.failed), a.note ? h('div', { class: 'sub' }, a.note) : null),
                  ),
                ),
              ),
            ),
          ),
    );
  };

  const act = async (action: 'replay' | 'discard', body: unknown, what: string): Promise<void> => {
    if (busy) return;
    if (!credentials.token) {
      say('Enter the admin token first (set MONITOR_ADMIN_TOKEN on the monitor).', 'bad');
      return;
    }
    if (!confirm(`${action === 'replay' ? 'Replay' : 'Discard'} ${what}?`)) return;
    busy = true;
    drawActions();
    try {
      const r = await post<ActionResult>(`/api/dlq/${action}`, body);
      const verb = action === 'replay' ? 'Replayed' : 'Discarded';
      // A replay says where its records went (loaded, filtered, dead-lettered again), not a blind success.
      const outcomes = (r.outcomes ?? []).slice(0, 5).map(describeOutcome).join('; ');
      const again = (r.outcomes ?? []).some((o) => o.outcome === 'dead_lettered');
      say(
        `${verb} ${num(r.done)} of ${num(r.requested)}${r.skipped ? `, ${num(r.skipped)} skipped (already handled)` : ''}${r.failed ? `, ${num(r.failed)} failed: ${r.errors[0]?.message ?? ''}` : ''}.${outcomes ? ` ${outcomes}` : ''}`,
        r.failed || again ? 'bad' : 'ok',
      );
      await Promise.all([load(), loadAudit()]);
    } catch (err) {
      say(err instanceof ApiError && err.status === 401 ? 'The admin token was refused.' : `Failed: ${(err as Error).message}`, 'bad');
    } finally {
      busy = false;
      drawActions();
    }
  };

  const drawActions = (): void => {
    const n = selected.size;
    const disabled = !adminEnabled || busy;
    const filterBody = { filter: { ...filters, status: filters.status ?? 'open' } };
    replaceRegion(
      actionsBar,
      h(
        'button',
        {
          type: 'button',
          disabled: n === 0,
          'data-key': 'fix-sel',
          onclick: () => {
            const one = n === 1 ? rows.find((r) => selected.has(r.seq)) : undefined;
            panels.setTarget({
              label: `${n} selected dead letter${n === 1 ? '' : 's'}`,
              body: { seqs: [...selected] },
              ...(one ? { record: one } : {}),
            });
          },
        },
        `Fix selected (${n})`,
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'primary',
          disabled: disabled || n === 0,
          'data-key': 'replay-sel',
          onclick: () => void act('replay', { seqs: [...selected] }, `${n} selected dead letter${n === 1 ? '' : 's'}`),
        },
        `Replay selected (${n})`,
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          disabled: disabled || n === 0,
          'data-key': 'discard-sel',
          onclick: () => void act('discard', { seqs: [...selected] }, `${n} selected dead letter${n === 1 ? '' : 's'}`),
        },
        `Discard selected (${n})`,
      ),
      h(
        'button',
        {
          type: 'button',
          disabled,
          'data-key': 'replay-all',
          onclick: () => void act('replay', filterBody, 'every dead letter matching the filters'),
        },
        'Replay all matching',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          disabled,
          'data-key': 'discard-all',
          onclick: () => void act('discard', filterBody, 'every dead letter matching the filters'),
        },
        'Discard all matching',
      ),
      adminEnabled ? null : h('span', { class: 'sub' }, 'Actions are disabled on this monitor (no MONITOR_ADMIN_TOKEN).'),
    );
  };

  const draw = (): void => {
    more.hidden = exhausted;
    drawActions();
    if (rows.length === 0) {
      replaceRegion(list, h('p', { class: 'empty' }, 'No dead letters match these filters.'));
      return;
    }
    const all = rows.every((r) => selected.has(r.seq));
    replaceRegion(
      list,
      h(
        'div',
        { class: 'scroll-x' },
        h(
          'table',
          { class: 'dlq-table' },
          h('caption', { class: 'visually-hidden' }, 'Dead letters, newest first'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h(
                'th',
                {},
                h('input', {
                  type: 'checkbox',
                  'aria-label': 'Select all shown',
                  checked: all,
                  'data-key': 'sel-all',
                  onchange: (e) => {
                    const on = (e.target as HTMLInputElement).checked;
                    for (const r of rows) {
                      if (on) selected.add(r.seq);
                      else selected.delete(r.seq);
                    }
                    draw();
                  },
                }),
              ),
              h('th', {}, 'Seq'),
              h('th', {}, 'Failed'),
              h('th', {}, 'Where'),
              h('th', {}, 'Error'),
              h('th', { class: 'num hide-sm' }, 'Attempts'),
              h('th', {}, 'Status'),
            ),
          ),
          h(
            'tbody',
            {},
            rows.map((r) =>
              h(
                'tr',
                { class: selected.has(r.seq) ? 'selected' : undefined, 'data-seq': r.seq },
                h(
                  'td',
                  {},
                  h('input', {
                    type: 'checkbox',
                    'aria-label': `Select dead letter ${r.seq}`,
                    checked: selected.has(r.seq),
                    'data-key': `sel-${r.seq}`,
                    onchange: (e) => {
                      if ((e.target as HTMLInputElement).checked) selected.add(r.seq);
                      else selected.delete(r.seq);
                      draw();
                    },
                  }),
                ),
                h('td', {}, h('code', {}, String(r.seq))),
                h('td', {}, time(r.failed_at)),
                h('td', {}, `${r.pipeline} / ${r.stage} / ${r.name}`),
                h(
                  'td',
                  { class: 'msg' },
                  h('strong', {}, r.error.code ?? 'unknown'),
                  ' ',
                  r.error.message ?? '',
                  h(
                    'details',
                    {},
                    h('summary', { 'data-key': `rec-${r.seq}` }, 'Record and origin'),
                    h(
                      'pre',
                      {},
                      JSON.stringify(
                        { record: r.record, original: r.original, replay_subject: r.replay_subject, location: r.error.location },
                        null,
                        2,
                      ),
                    ),
                  ),
                ),
                h('td', { class: 'num hide-sm' }, r.attempts ?? '–'),
                h('td', {}, h('span', { class: `badge ${r.status === 'open' ? 'warn' : r.status === 'replayed' ? 'ok' : ''}` }, r.status)),
              ),
            ),
          ),
        ),
      ),
    );
  };

  const applyFilters = (e: Event): void => {
    e.preventDefault();
    const data = new FormData(form);
    filters = {};
    for (const k of FILTERS) {
      const v = String(data.get(k) ?? '').trim();
      if (v) filters[k] = v;
    }
    history.replaceState(
      null,
      '',
      `/dlq${Object.keys(filters).length ? `?${new URLSearchParams(filters as Record<string, string>)}` : ''}`,
    );
    void load().catch((err: Error) => say(`Cannot load: ${err.message}`, 'bad'));
  };

  const drawForm = (): void => {
    replaceRegion(
      form,
      select('pipeline', 'Pipeline', filters.pipeline, [['', 'All'], ...pipelines.map((p): [string, string] => [p, p])]),
      select('stage', 'Stage', filters.stage, [
        ['', 'All'],
        ['ingest', 'ingest'],
        ['transform', 'transform'],
        ['load', 'load'],
      ]),
      input('name', 'Source / dataset', filters.name, { size: '12' }),
      input('code', 'Error code', filters.code, { placeholder: 'TRIB_E_VALIDATION', size: '18' }),
      input('q', 'Search', filters.q, { type: 'search', placeholder: 'message or record text' }),
      select('status', 'Status', filters.status, [
        ['', 'Open'],
        ['replayed', 'Replayed'],
        ['discarded', 'Discarded'],
        ['all', 'All'],
      ]),
      h('button', { type: 'submit', class: 'primary' }, 'Search'),
    );
  };

  return {
    title: 'Dead letters · Tributary',
    nav: 'dlq',
    mount(main) {
      form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter dead letters', onsubmit: applyFilters });
      list = h('div', {}, h('p', { class: 'empty' }, 'Loading…'));
      actionsBar = h('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' });
      status = h('p', { class: 'notice', role: 'status', 'aria-live': 'polite' });
      audit = h('div', {});
      more = h('button', { type: 'button', onclick: () => void load(true) }, 'Load more');
      const token = h('input', {
        type: 'password',
        name: 'token',
        autocomplete: 'off',
        value: credentials.token,
        onchange: (e) => (credentials.token = (e.target as HTMLInputElement).value),
      });
      const actor = h('input', {
        name: 'actor',
        autocomplete: 'name',
        value: credentials.actor,
        placeholder: 'for the audit trail',
        onchange: (e) => (credentials.actor = (e.target as HTMLInputElement).value),
      });
      main.replaceChildren(
        h(
          'div',
          { class: 'page-head' },
          h(
            'div',
            {},
            h('h1', {}, 'Dead letters'),
            h(
              'p',
              { class: 'sub' },
              'Records a stage could not process, with why. Fix the cause, then replay them to where they were going.',
            ),
          ),
        ),
        h('section', { class: 'panel', 'aria-label': 'Search' }, form),
        h('section', { class: 'panel', 'aria-labelledby': 'h-groups' }, h('h2', { id: 'h-groups' }, 'By cause'), panels.groups),
        h('section', { class: 'panel', 'aria-labelledby': 'h-fix' }, h('h2', { id: 'h-fix' }, 'Fix, preview, replay'), panels.fix),
        h(
          'section',
          { class: 'panel', 'aria-labelledby': 'h-list' },
          h('h2', { id: 'h-list' }, 'Matching dead letters'),
          h(
            'form',
            { class: 'admin-bar', 'aria-label': 'Admin credentials', onsubmit: (e) => e.preventDefault() },
            h('label', { class: 'field' }, 'Admin token', token),
            h('label', { class: 'field' }, 'Your name', actor),
          ),
          h('div', { class: 'actions' }, actionsBar),
          status,
          list,
          more,
        ),
        h('section', { class: 'panel', 'aria-labelledby': 'h-audit' }, h('h2', { id: 'h-audit' }, 'Audit trail'), audit),
      );
      drawForm();
      drawActions();
      void load().catch((err: Error) => say(`Cannot load: ${err.message}`, 'bad'));
      void loadAudit().catch(() => undefined);
    },
    update(o: Overview) {
      const names = o.pipelines.map((p) => p.name);
      const changed = names.join() !== pipelines.join();
      pipelines = names;
      if (adminEnabled !== o.admin.enabled) {
        adminEnabled = o.admin.enabled;
        drawActions();
        panels.redraw();
      }
      // The form is only redrawn when the pipeline list changes, so typing is never interrupted.
      if (changed) drawForm();
    },
  };
}

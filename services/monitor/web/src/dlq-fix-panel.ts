/**
 * The DLQ console's "close the loop" part: dead letters grouped by cause (stage, code, field,
 * schema fingerprint, with first and last seen) and totals; a fix for a group or a selection (set
 * fields or rewrite the record in JSONata, or edit one record's JSON); a preview of what the
 * running pipeline would do with the fixed records; and a replay that reports where each went.
 *
 * Longer than 300 lines because grouping, fix, preview and replay are one panel sharing one
 * selection.
 */
import { ApiError, credentials, get, post } from './api.js';
import { h, replaceRegion } from './dom.js';
import { num, time } from './format.js';
import type {
  ActionResult,
  DeadLetter,
  DeadLetterHints,
  DeadLetterGroups,
  PreviewAnswer,
  PreviewRecordView,
  RecordHints,
  ReplayOutcome,
} from './types.js';

/** What a fix applies to. */
export type FixTarget = { label: string; body: { seqs: number[] } | { filter: Record<string, string> }; record?: DeadLetter };

const GROUP_BY = ['stage', 'code', 'field', 'schema'] as const;

/** One line for a replayed record's outcome. */
export function describeOutcome(o: ReplayOutcome): string {
  if (o.outcome === 'loaded')
    return `#${o.seq} loaded into ${Object.entries(o.tables ?? {})
      .map(([t, n]) => `${t} (${n})`)
      .join(', ')}`;
  if (o.outcome === 'dead_lettered')
    return `#${o.seq} dead-lettered again: ${(o.dead_letters ?? []).map((d) => `${d.code ?? ''} ${d.message ?? ''}`).join('; ')}`;
  return o.outcome === 'filtered' ? `#${o.seq} filtered by the pipeline` : `#${o.seq} still on its way`;
}

function describePreview(r: PreviewRecordView): string {
  if (r.outcome === 'load') return `would load into ${[...new Set(r.tables.map((t) => t.table))].join(', ')}`;
  if (r.outcome === 'filtered') return `would be filtered (${r.filtered.join(', ')})`;
  if (r.outcome === 'nothing') return 'would reach no dataset';
  return `${r.outcome === 'cannot_replay' ? 'cannot be replayed' : 'would be dead-lettered again'}: ${r.errors
    .map((e) => `${e.stage}${e.dataset ? ` ${e.dataset}` : ''}: ${e.code} ${e.message}`)
    .join('; ')}`;
}

/** What an edited record must satisfy, beside the editor: the source schema's fields and rules, or the dataset's fields. */
function hintsView(hints: RecordHints): HTMLElement {
  const doc = hints.schema?.doc as { properties?: Record<string, unknown>; required?: string[] } | undefined;
  if (doc && typeof doc === 'object' && doc.properties) {
    const required = new Set(doc.required ?? []);
    return h(
      'details',
      { class: 'hints', open: true },
      h('summary', {}, `Source schema ${hints.schema!.ref}`),
      h(
        'ul',
        {},
        Object.entries(doc.properties).map(([name, rule]) =>
          h('li', {}, h('code', {}, name), required.has(name) ? ' (required) ' : ' ', h('code', {}, JSON.stringify(rule))),
        ),
      ),
    );
  }
  if (hints.schema) {
    const text = typeof hints.schema.doc === 'string' ? hints.schema.doc : JSON.stringify(hints.schema.doc, null, 2);
    return h('details', { class: 'hints' }, h('summary', {}, `Source schema ${hints.schema.ref}`), h('pre', {}, text));
  }
  if (hints.fields)
    return h(
      'details',
      { class: 'hints', open: true },
      h('summary', {}, 'Dataset fields'),
      h(
        'ul',
        {},
        hints.fields.map((f) => h('li', {}, h('code', {}, f.name), `: ${f.type}${f.required ? ' (required)' : ''}`)),
      ),
    );
  return h('p', { class: 'sub' }, 'No schema applies where this record goes.');
}

/** Creates the groups panel and the fix panel; `refresh` reloads the listing after a replay. */
export function fixPanels(opts: { refresh: () => Promise<void>; adminEnabled: () => boolean }) {
  let target: FixTarget | undefined;
  const groups = h('div', {}, h('p', { class: 'empty' }, 'Loading…'));
  const fix = h('div', {});
  const result = h('div', { role: 'status', 'aria-live': 'polite' });

  const loadGroups = async (filters: Record<string, string>): Promise<void> => {
    const { status: _status, q: _q, ...f } = filters;
    const g = await get<DeadLetterGroups>(`/api/dlq/groups?${new URLSearchParams({ ...f, by: GROUP_BY.join(',') })}`);
    const t = g.totals;
    replaceRegion(
      groups,
      h(
        'p',
        { class: 'sub', 'data-key': 'dlq-totals' },
        `${num(t.open)} open · ${num(t.replayed)} replayed · ${num(t.discarded)} discarded · ${num(t.all)} in all`,
      ),
      g.groups.length === 0
        ? h('p', { class: 'empty' }, 'No open dead letters.')
        : h(
            'div',
            { class: 'scroll-x' },
            h(
              'table',
              { class: 'dlq-groups' },
              h('caption', { class: 'visually-hidden' }, 'Open dead letters by cause, largest first'),
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...GROUP_BY.map((k) => h('th', {}, k)),
                  h('th', { class: 'num' }, 'Count'),
                  h('th', {}, 'First seen'),
                  h('th', {}, 'Last seen'),
                  h('th', {}, 'Sample'),
                  h('th', {}, ''),
                ),
              ),
              h(
                'tbody',
                {},
                g.groups.map((gr, i) =>
                  h(
                    'tr',
                    {},
                    ...GROUP_BY.map((k) => h('td', {}, h('code', {}, gr.key[k] ?? '–'))),
                    h('td', { class: 'num' }, num(gr.count)),
                    h('td', {}, time(gr.first_seen)),
                    h('td', {}, time(gr.last_seen)),
                    h('td', { class: 'msg' }, `#${gr.sample_seq} `, gr.sample_message ?? ''),
                    h(
                      'td',
                      {},
                      h(
                        'button',
                        {
                          type: 'button',
                          'data-key': `fix-group-${i}`,
                          onclick: () =>
                            setTarget({
                              label: `${num(gr.count)} dead letters: ${GROUP_BY.map((k) => gr.key[k] ?? '–').join(' / ')}`,
                              body: { filter: gr.filter },
                            }),
                        },
                        'Fix this group',
                      ),
                    ),
                  ),
                ),
              ),
            ),
          ),
    );
  };

  const fixBody = (form: HTMLFormElement): Record<string, unknown> | undefined | string => {
    const data = new FormData(form);
    const kind = String(data.get('kind'));
    const text = String(data.get('text') ?? '').trim();
    if (kind === 'none') return undefined;
    if (kind === 'expression') return text ? { expression: text } : 'Write the expression giving the new record.';
    if (kind === 'record') {
      try {
        return { records: { [String(target!.record!.seq)]: JSON.parse(text) as unknown } };
      } catch (err) {
        return `The record is not valid JSON: ${(err as Error).message}`;
      }
    }
    const set: Record<string, string> = {};
    for (const line of text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)) {
      const eq = line.indexOf('=');
      if (eq <= 0) return `"${line}" is not field = expression`;
      set[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
    return Object.keys(set).length ? { set } : 'Write one field = expression per line.';
  };

  const run = async (form: HTMLFormElement, what: 'preview' | 'replay'): Promise<void> => {
    if (!target) return;
    if (!credentials.token) return void replaceRegion(result, h('p', { class: 'notice bad' }, 'Enter the admin token first.'));
    const f = fixBody(form);
    if (typeof f === 'string') return void replaceRegion(result, h('p', { class: 'notice bad' }, f));
    const body = { ...target.body, ...(f ? { fix: f } : {}) };
    replaceRegion(result, h('p', { class: 'notice' }, what === 'preview' ? 'Previewing…' : 'Replaying…'));
    try {
      if (what === 'preview') {
        const p = await post<PreviewAnswer>('/api/dlq/preview', body);
        const s = p.summary;
        replaceRegion(
          result,
          h(
            'p',
            { class: `notice ${(s.dead_letter ?? 0) + (s.cannot_replay ?? 0) > 0 ? 'bad' : 'ok'}`, 'data-key': 'preview-summary' },
            `Preview of ${num(p.records.length)}${p.truncated ? '+' : ''}: ${num(s.load ?? 0)} would load, ${num(s.filtered ?? 0)} filtered, ${num((s.dead_letter ?? 0) + (s.cannot_replay ?? 0))} dead-lettered again.`,
          ),
          h(
            'ul',
            { class: 'preview' },
            p.records.map((r) =>
              h('li', { class: r.outcome }, h('code', {}, `#${r.seq}`), r.changed ? ' (fixed) ' : ' ', describePreview(r)),
            ),
          ),
        );
      } else {
        if (!confirm(`Replay ${target.label}${f ? ' with this fix' : ''}?`)) return void replaceRegion(result);
        const r = await post<ActionResult>('/api/dlq/replay', { ...body, wait_ms: 5000 });
        const again = (r.outcomes ?? []).filter((o) => o.outcome === 'dead_lettered').length;
        replaceRegion(
          result,
          h(
            'p',
            { class: `notice ${r.failed || again ? 'bad' : 'ok'}`, 'data-key': 'replay-summary' },
            `Replayed ${num(r.done)} of ${num(r.requested)}${r.failed ? `, ${num(r.failed)} failed: ${r.errors[0]?.message ?? ''}` : ''}.`,
          ),
          h(
            'ul',
            { class: 'preview' },
            (r.outcomes ?? []).map((o) => h('li', { class: o.outcome }, describeOutcome(o))),
          ),
        );
        await opts.refresh();
      }
    } catch (err) {
      replaceRegion(
        result,
        h(
          'p',
          { class: 'notice bad' },
          err instanceof ApiError && err.status === 401 ? 'The admin token was refused.' : `Failed: ${(err as Error).message}`,
        ),
      );
    }
  };

  const drawFix = (): void => {
    if (!target)
      return void replaceRegion(
        fix,
        h('p', { class: 'sub' }, 'Choose a group above, or select dead letters below and press "Fix selected".'),
      );
    const editable = target.record !== undefined && typeof target.record.record === 'object' && target.record.record !== null;
    const form: HTMLFormElement = h('form', { class: 'fix-form', 'aria-label': 'Fix', onsubmit: (e) => e.preventDefault() });
    const text = h('textarea', { name: 'text', rows: 6, cols: 60, spellcheck: 'false', 'aria-label': 'Fix', 'data-key': 'fix-text' });
    const choose = (kind: string): void => {
      text.value =
        kind === 'record'
          ? JSON.stringify(target!.record!.record, null, 2)
          : kind === 'set'
            ? 'lane = lane'
            : kind === 'expression'
              ? '$merge([$, {}])'
              : '';
      text.hidden = kind === 'none';
    };
    const radio = (value: string, label: string, checked = false) =>
      h(
        'label',
        { class: 'field inline' },
        h('input', { type: 'radio', name: 'kind', value, checked, onchange: () => choose(value) }),
        label,
      );
    replaceRegion(
      form,
      h('p', {}, h('strong', {}, 'Fixing: '), target.label),
      h(
        'div',
        { role: 'radiogroup', 'aria-label': 'How to fix' },
        radio('none', 'As stored', !editable),
        radio('set', 'Set fields (field = JSONata, one per line)'),
        radio('expression', 'Whole record (JSONata)'),
        editable ? radio('record', 'Edit the record (JSON)', true) : null,
      ),
      text,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', 'data-key': 'preview', onclick: () => void run(form, 'preview') }, 'Preview'),
        h(
          'button',
          {
            type: 'button',
            class: 'primary',
            disabled: !opts.adminEnabled(),
            'data-key': 'replay-fixed',
            onclick: () => void run(form, 'replay'),
          },
          'Replay',
        ),
      ),
    );
    choose(editable ? 'record' : 'none');
    const hints = h('div', { 'aria-label': 'What the record must satisfy' });
    replaceRegion(fix, form, hints, result);
    if (editable)
      void get<DeadLetterHints>(`/api/dlq/${target.record!.seq}/hints`)
        .then((d) => replaceRegion(hints, hintsView(d.hints)))
        .catch(() => undefined);
  };

  const setTarget = (t: FixTarget): void => {
    target = t;
    replaceRegion(result);
    drawFix();
    fix.scrollIntoView({ block: 'nearest' });
  };

  drawFix();
  return {
    groups,
    fix,
    loadGroups,
    setTarget,
    redraw: drawFix,
  };
}

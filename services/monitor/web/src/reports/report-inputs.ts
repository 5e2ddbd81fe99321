/**
 * The inputs bar of a report: date ranges, dropdowns filled by a query, text search. Values live
 * in the page's URL (so a view can be shared) and go to the server as query-string values; the
 * server binds them as parameters, never as SQL text.
 */
import { h } from '../dom.js';
import type { InputSpec, QueryResult, TileError } from './report-types.js';

/** The inputs' current values: date ranges as `name.from` / `name.to`. */
export type InputValues = Record<string, string>;

/** The inputs bar and its values. */
export interface InputState {
  el: HTMLElement;
  values: InputValues;
  /** Fills dropdowns from their queries' rows. */
  fill(results: Record<string, QueryResult | { error: TileError }>): void;
}

/** `today`, `-7d`, `2026-01-31` -> `YYYY-MM-DD` (UTC), as the server resolves defaults. */
function resolveDate(expr: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(expr)) return expr;
  const days = expr === 'today' ? 0 : Number(expr.slice(0, -1));
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + days)).toISOString().slice(0, 10);
}

/** The query string of the given values. */
export function inputQueryString(_inputs: Record<string, InputSpec>, values: InputValues): string {
  return new URLSearchParams(values).toString();
}

/** Builds the bar; `changed` runs after any value changes. */
export function inputBar(inputs: Record<string, InputSpec>, changed: () => void): InputState {
  const url = new URLSearchParams(location.search);
  const values: InputValues = {};
  const dropdowns: { name: string; spec: Extract<InputSpec, { kind: 'dropdown' }>; select: HTMLSelectElement }[] = [];
  const set = (key: string, value: string): void => {
    values[key] = value;
    const u = new URL(location.href);
    u.searchParams.set(key, value);
    history.replaceState(history.state, '', u);
    changed();
  };
  const fields = Object.entries(inputs).map(([name, spec]) => {
    const label = spec.label ?? name.replace(/_/g, ' ');
    if (spec.kind === 'date_range') {
      const part = (p: 'from' | 'to', dflt: string): HTMLElement => {
        const key = `${name}.${p}`;
        values[key] = url.get(key) ?? resolveDate(dflt);
        return h(
          'label',
          {},
          `${label} ${p}`,
          h('input', {
            type: 'date',
            name: key,
            value: values[key],
            'data-input': key,
            onchange: (e: Event) => set(key, (e.target as HTMLInputElement).value),
          }),
        );
      };
      return h(
        'fieldset',
        { class: 'date-range' },
        h('legend', {}, label),
        part('from', spec.default?.from ?? '-30d'),
        part('to', spec.default?.to ?? 'today'),
      );
    }
    if (spec.kind === 'dropdown') {
      values[name] = url.get(name) ?? spec.default ?? '';
      const select = h('select', { name, 'data-input': name, onchange: (e: Event) => set(name, (e.target as HTMLSelectElement).value) });
      if (spec.all) select.append(h('option', { value: '' }, 'All'));
      if (values[name]) select.append(h('option', { value: values[name] }, values[name]));
      select.value = values[name];
      dropdowns.push({ name, spec, select });
      return h('label', {}, label, select);
    }
    values[name] = url.get(name) ?? spec.default;
    let timer: number | undefined;
    const input = h('input', {
      type: 'search',
      name,
      value: values[name],
      placeholder: spec.placeholder ?? '',
      'data-input': name,
      // Typing waits for a pause before the queries re-run.
      oninput: (e: Event) => {
        clearTimeout(timer);
        const v = (e.target as HTMLInputElement).value;
        timer = window.setTimeout(() => set(name, v), 300);
      },
    });
    return h('label', {}, label, input);
  });
  const el = h('form', { class: 'report-inputs panel', role: 'search', onsubmit: (e: Event) => e.preventDefault() }, fields);
  if (fields.length === 0) el.hidden = true;
  /** What each dropdown was last filled with. */
  const filled = new Map<string, string>();
  return {
    el,
    values,
    fill(results) {
      for (const d of dropdowns) {
        const r = results[d.spec.query];
        if (!r || 'error' in r) continue;
        const opts = r.rows.map((row) => ({ value: String(row[0] ?? ''), label: String(row[1] ?? row[0] ?? '') }));
        const current = values[d.name] ?? '';
        // The same options for the same choice again (every live refresh): the list stays as it is.
        const key = JSON.stringify([opts, current]);
        if (filled.get(d.name) === key) continue;
        filled.set(d.name, key);
        d.select.replaceChildren(
          ...(d.spec.all ? [h('option', { value: '' }, 'All')] : []),
          ...opts.map((o) => h('option', { value: o.value }, o.label)),
        );
        if (current && !opts.some((o) => o.value === current)) d.select.append(h('option', { value: current }, current));
        d.select.value = current;
        if (!d.spec.all && !current && opts[0]) {
          // Without an "all" option the first value is the default: take it and run with it.
          d.select.value = opts[0].value;
          set(d.name, opts[0].value);
        }
      }
    },
  };
}

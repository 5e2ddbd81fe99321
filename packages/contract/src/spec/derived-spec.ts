/**
 * What the stream steps add to a pipeline spec: a window dataset's fields and its aggregate
 * table's key are derived from the window step (declaring them by hand would only let them drift),
 * and the cross-references of `window`, `route` and `enrich` are checked with everything else.
 */
import type { FieldDef } from './common';
import type { ReferenceProblem } from './spec-problem';
import { sessionFields, sessionStepSpec } from './steps/session';
import { windowFields, windowStepSpec } from './steps/window';

const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** The one-key step objects of a raw dataset. */
function rawSteps(ds: unknown): { kind: string; config: unknown }[] {
  const steps = obj(ds).steps;
  if (!Array.isArray(steps)) return [];
  return steps.map((s) => {
    const k = Object.keys(obj(s))[0] ?? '';
    return { kind: k, config: obj(s)[k] };
  });
}

/** Checks of the stream steps on the raw document (reported with every other problem). */
export function checkStreamSteps(root: unknown): ReferenceProblem[] {
  const out: ReferenceProblem[] = [];
  const doc = obj(root);
  const datasets = obj(doc.datasets);
  for (const [name, raw] of Object.entries(datasets)) {
    const steps = rawSteps(raw);
    // Window and session datasets derive their fields from that step, which must come last.
    const w = steps.findIndex((s) => s.kind === 'window' || s.kind === 'session');
    const hasFields = obj(raw).fields !== undefined;
    if (w >= 0 && w !== steps.length - 1) {
      out.push({
        path: ['datasets', name, 'steps', w],
        message:
          steps[w]!.kind === 'window'
            ? 'a window must be the last step (later steps would see partial aggregates)'
            : 'a session step must be the last step (read its rows from another dataset to go on)',
      });
    }
    if (w >= 0 && hasFields) {
      out.push({
        path: ['datasets', name, 'fields'],
        message: `a ${steps[w]!.kind} dataset's fields are derived from its ${steps[w]!.kind} step: remove \`fields\``,
      });
    }
    if (w < 0 && !hasFields) out.push({ path: ['datasets', name], message: 'declare `fields` (the output contract)' });
    steps.forEach((s, i) => {
      if (s.kind === 'route') {
        for (const target of Object.keys(obj(s.config))) {
          const from = obj(datasets[target]).from;
          const list = typeof from === 'string' ? [from] : Array.isArray(from) ? from : [];
          if (!(target in datasets)) {
            out.push({ path: ['datasets', name, 'steps', i, 'route', target], message: `unknown dataset "${target}"` });
          } else if (!list.includes(name)) {
            out.push({
              path: ['datasets', name, 'steps', i, 'route', target],
              message: `dataset "${target}" must list "${name}" in \`from\``,
            });
          }
        }
      }
      if (s.kind === 'join') {
        const partner = obj(s.config).with;
        const from = obj(raw).from;
        const list = typeof from === 'string' ? [from] : Array.isArray(from) ? from : [];
        if (typeof partner === 'string' && !list.includes(partner)) {
          out.push({
            path: ['datasets', name, 'steps', i, 'join', 'with'],
            message: `"${partner}" must be listed in this dataset's \`from\``,
          });
        } else if (typeof partner === 'string' && list.length < 2) {
          out.push({
            path: ['datasets', name, 'from'],
            message: `a join reads its records and its partners ("${partner}"): list both in \`from\``,
          });
        }
        if (steps.slice(0, i).some((p) => p.kind === 'join')) {
          out.push({ path: ['datasets', name, 'steps', i], message: 'one join per dataset (join the result in another dataset)' });
        }
      }
      if (s.kind === 'enrich') {
        const ref = obj(obj(s.config).from).dataset;
        if (typeof ref === 'string' && !(ref in datasets)) {
          out.push({ path: ['datasets', name, 'steps', i, 'enrich', 'from', 'dataset'], message: `unknown dataset "${ref}"` });
        }
      }
    });
  }
  for (const [name, raw] of Object.entries(obj(doc.tables))) {
    const t = obj(raw);
    if (t.mode !== 'aggregate' || typeof t.from !== 'string' || !(t.from in datasets)) continue;
    const steps = rawSteps(datasets[t.from]);
    if (steps.at(-1)?.kind !== 'window') {
      out.push({
        path: ['tables', name, 'from'],
        message: `an aggregate table reads a dataset whose last step is a window; "${t.from}" has none`,
      });
    }
  }
  return out;
}

/**
 * The field names of a window or session dataset, derived from its last step in the raw document
 * (so table keys can be checked before the spec is resolved); undefined for other datasets.
 */
export function derivedFieldNames(rawDataset: unknown): Record<string, true> | undefined {
  const fields = derivedFields(rawDataset);
  return fields && Object.fromEntries(fields.map((f) => [f.name, true as const]));
}

/** The fields of a window or session dataset (key types unknown: string), from the raw document; undefined for others. */
export function derivedFields(rawDataset: unknown): FieldDef[] | undefined {
  const last = rawSteps(rawDataset).at(-1);
  if (last?.kind === 'window') {
    const w = windowStepSpec.safeParse(last.config);
    if (w.success) return windowFields(w.data, {});
  } else if (last?.kind === 'session') {
    const s = sessionStepSpec.safeParse(last.config);
    if (s.success) return sessionFields(s.data, {});
  }
  return undefined;
}

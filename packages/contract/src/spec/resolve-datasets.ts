/**
 * Resolution of datasets and tables once the document has parsed: a window or session dataset's
 * fields follow from its last step (typed by its inputs' fields), and an aggregate table's key is
 * the window's key.
 */
import { normaliseFields, type FieldDef, type FieldType } from './common';
import type { Dataset, Table } from './pipeline';
import type { PipelineSpec } from './pipeline-spec';
import { sessionFields } from './steps/session';
import { normaliseStep } from './steps/registry';
import { windowFields, WINDOW_COLUMNS, type WindowConfig } from './steps/window';

/** The window config of a dataset, when its last step is a window. */
export function windowOf(ds: Pick<Dataset, 'steps'>): WindowConfig | undefined {
  const last = ds.steps.at(-1);
  return last?.kind === 'window' ? last.config : undefined;
}

/** The fields of dataset `name`: declared, or derived from its window step. */
export function datasetFields(spec: PipelineSpec, name: string, resolved: Map<string, FieldDef[]>): FieldDef[] {
  const ds = spec.datasets[name]!;
  const last = ds.steps.at(-1);
  const step = last ? normaliseStep(last as Record<string, unknown>) : undefined;
  if (step?.kind !== 'window' && step?.kind !== 'session') return normaliseFields(ds.fields ?? {});
  // Key and aggregate types follow the input dataset's fields (a source's are unknown: string/number).
  const types: Record<string, FieldType> = {};
  const decimals: Record<string, FieldDef> = {};
  for (const f of ds.from) {
    for (const d of resolved.get(f) ?? []) {
      types[d.name] ??= d.type;
      if (d.type === 'decimal') decimals[d.name] ??= d;
    }
  }
  return step.kind === 'window' ? windowFields(step.config, types, decimals) : sessionFields(step.config, types);
}

/**
 * Problems with a table once datasets are resolved: an aggregate table's key is `window_start`
 * plus the window's key fields, set here (a written key must equal it).
 */
export function resolveTable(table: Table, datasets: Dataset[]): { table: Table; problem?: string } {
  if (table.mode !== 'aggregate') return { table };
  const w = windowOf(datasets.find((d) => d.name === table.from) ?? { steps: [] });
  if (!w) return { table };
  const key = [WINDOW_COLUMNS.start, ...w.key];
  if (table.key && table.key.join() !== key.join()) {
    return { table, problem: `the key of an aggregate table is [${key.join(', ')}] (from the window step)` };
  }
  return { table: { ...table, key } };
}

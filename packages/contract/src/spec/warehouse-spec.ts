/**
 * The warehouse sections of a pipeline spec (`dimensions:`, `models:`, `checks:`, table lookups)
 * beyond their zod shapes: cross-references checked on the raw document (so they are reported with
 * every other problem), and resolution of model SQL files when a pipeline is loaded.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { GeneratedDimension } from './generated-dimensions';
import type { CheckEntry } from './check-spec';
import { orderModels, refsOf, type Model, type ModelSpec } from './model-spec';
import { checkTableStorage } from './storage-spec';
import type { ReferenceProblem } from './spec-problem';
import { SCD2_COLUMNS } from './table-columns';

const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** The type of a raw field declaration (`name: type` or `{ type: ... }`). */
const fieldType = (f: unknown): unknown => (typeof f === 'string' ? f : obj(f).type);

/** A problem at a path of the document. */
export type WarehouseProblem = ReferenceProblem;

/** Cross-references of lookups, scd2 options, models, checks and storage options (storage-spec.ts), on the raw document. */
export function checkWarehouseReferences(root: unknown): WarehouseProblem[] {
  const out: WarehouseProblem[] = [];
  const doc = obj(root);
  const tables = obj(doc.tables);
  const datasets = obj(doc.datasets);
  const fieldsOf = (t: unknown): Record<string, unknown> => obj(obj(datasets[String(obj(t).from)]).fields);
  const names = new Set([...Object.keys(tables), ...Object.keys(obj(doc.dimensions)), ...Object.keys(obj(doc.models))]);
  for (const [name, raw] of Object.entries(tables)) {
    const t = obj(raw);
    const fields = fieldsOf(t);
    const has = (f: unknown): boolean => typeof f === 'string' && f in fields;
    if (t.mode === 'scd2') {
      for (const col of [...Object.keys(SCD2_COLUMNS), String(t.surrogate_key ?? `${name}_sk`)]) {
        if (col in fields)
          out.push({ path: ['tables', name], message: `field "${col}" of dataset "${String(t.from)}" clashes with a column scd2 adds` });
      }
      for (const k of ['valid_from'] as const)
        if (t[k] !== undefined && !has(t[k]))
          out.push({ path: ['tables', name, k], message: `"${String(t[k])}" is not a field of dataset "${String(t.from)}"` });
      if (t.deletes !== undefined && !has(obj(t.deletes).field))
        out.push({
          path: ['tables', name, 'deletes', 'field'],
          message: `"${String(obj(t.deletes).field)}" is not a field of dataset "${String(t.from)}"`,
        });
      (Array.isArray(t.track) ? t.track : []).forEach((c, i) => {
        if (!has(c))
          out.push({ path: ['tables', name, 'track', i], message: `"${String(c)}" is not a field of dataset "${String(t.from)}"` });
      });
    }
    if (t.mode === 'upsert' && t.position !== undefined) {
      const type = has(t.position) ? fieldType(fields[String(t.position)]) : undefined;
      if (!has(t.position))
        out.push({ path: ['tables', name, 'position'], message: `"${String(t.position)}" is not a field of dataset "${String(t.from)}"` });
      else if (type === 'boolean' || type === 'json')
        out.push({
          path: ['tables', name, 'position'],
          message: `"${String(t.position)}" is a ${type} field: a position is a string (an LSN), integer, number, decimal, timestamp or date`,
        });
    }
    if (t.mode === 'accumulating') {
      if (t.order_by !== undefined && !has(t.order_by))
        out.push({ path: ['tables', name, 'order_by'], message: `"${String(t.order_by)}" is not a field of dataset "${String(t.from)}"` });
      for (const c of Object.keys(obj(t.columns))) {
        if (!has(c) && !(c in obj(t.lookups)))
          out.push({ path: ['tables', name, 'columns', c], message: `"${c}" is not a field of dataset "${String(t.from)}" nor a lookup` });
      }
    }
    for (const [col, rawLookup] of Object.entries(obj(t.lookups))) {
      const l = obj(rawLookup);
      const dim = obj(tables[String(l.dimension)]);
      if (dim.mode !== 'scd2') {
        out.push({
          path: ['tables', name, 'lookups', col, 'dimension'],
          message: `"${String(l.dimension)}" is not an scd2 table of this pipeline`,
        });
        continue;
      }
      if (col in fields)
        out.push({
          path: ['tables', name, 'lookups', col],
          message: `lookup column "${col}" clashes with a field of dataset "${String(t.from)}"`,
        });
      const on = obj(l.on);
      const key = Array.isArray(dim.key) ? (dim.key as string[]) : [];
      const mapped = new Set(Object.values(on));
      for (const k of key)
        if (!mapped.has(k))
          out.push({
            path: ['tables', name, 'lookups', col, 'on'],
            message: `does not map the key column "${k}" of ${String(l.dimension)}`,
          });
      for (const f of Object.keys(on))
        if (!has(f))
          out.push({ path: ['tables', name, 'lookups', col, 'on', f], message: `"${f}" is not a field of dataset "${String(t.from)}"` });
      if (l.at !== undefined && !has(l.at))
        out.push({
          path: ['tables', name, 'lookups', col, 'at'],
          message: `"${String(l.at)}" is not a field of dataset "${String(t.from)}"`,
        });
    }
  }
  for (const name of Object.keys(obj(doc.models))) {
    if (name in tables || name in obj(doc.dimensions))
      out.push({ path: ['models', name], message: `"${name}" is also a table name; names must be unique` });
  }
  for (const name of Object.keys(obj(doc.dimensions))) {
    if (name in tables) out.push({ path: ['dimensions', name], message: `"${name}" is also a table name; names must be unique` });
  }
  (Array.isArray(doc.checks) ? doc.checks : []).forEach((raw, i) => {
    const c = obj(raw);
    if (typeof c.table === 'string' && !names.has(c.table)) {
      out.push({ path: ['checks', i, 'table'], message: `unknown table or model "${c.table}" (known: ${[...names].join(', ')})` });
    }
    for (const [col, ref] of Object.entries(obj(c.relationships))) {
      const target = String(ref).split('.')[0]!;
      if (!names.has(target)) out.push({ path: ['checks', i, 'relationships', col], message: `unknown table or model "${target}"` });
    }
  });
  out.push(...checkTableStorage(root));
  return out;
}

/** The warehouse sections of a loaded pipeline. */
export interface WarehouseSections {
  dimensions: Record<string, GeneratedDimension>;
  /** Models in dependency order. */
  models: Model[];
  checks: CheckEntry[];
}

/** Reads model SQL files and orders models; problems name the field they come from. */
export function resolveWarehouse(
  spec: {
    dimensions?: Record<string, GeneratedDimension>;
    models?: Record<string, ModelSpec>;
    checks?: CheckEntry[];
    tables?: Record<string, unknown>;
  },
  dir: string,
): { sections: WarehouseSections; problems: WarehouseProblem[] } {
  const problems: WarehouseProblem[] = [];
  const known = new Set([...Object.keys(spec.tables ?? {}), ...Object.keys(spec.dimensions ?? {}), ...Object.keys(spec.models ?? {})]);
  // Tables with a ClickHouse `sink:` are not in the database models and checks run in.
  const inClickHouse = new Set(
    Object.entries(spec.tables ?? {}).flatMap(([t, v]) => (v && typeof v === 'object' && 'sink' in v ? [t] : [])),
  );
  const models: Model[] = [];
  for (const [name, m] of Object.entries(spec.models ?? {})) {
    let text = '';
    try {
      text = readFileSync(path.resolve(dir, m.sql), 'utf8');
    } catch (err) {
      problems.push({
        path: ['models', name, 'sql'],
        message: `cannot read ${m.sql}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      });
      continue;
    }
    const refs = refsOf(text);
    for (const r of refs)
      if (!known.has(r))
        problems.push({
          path: ['models', name, 'sql'],
          message: `${m.sql}: ref('${r}') is not a table, dimension or model of this pipeline`,
        });
      else if (inClickHouse.has(r))
        problems.push({
          path: ['models', name, 'sql'],
          message: `${m.sql}: ref('${r}'): models run in PostgreSQL; "${r}" loads into ClickHouse`,
        });
    if (m.materialized !== 'incremental' && m.unique_key)
      problems.push({ path: ['models', name, 'unique_key'], message: 'only incremental models take a unique_key' });
    models.push({ ...m, name, text, refs });
  }
  const { order, cycle } = orderModels(models);
  if (cycle) problems.push({ path: ['models', cycle[0]!], message: `models reference each other in a cycle: ${cycle.join(' -> ')}` });
  for (const [i, c] of (spec.checks ?? []).entries()) {
    for (const r of c.sql ? refsOf(c.sql) : [])
      if (!known.has(r))
        problems.push({ path: ['checks', i, 'sql'], message: `ref('${r}') is not a table, dimension or model of this pipeline` });
      else if (inClickHouse.has(r))
        problems.push({ path: ['checks', i, 'sql'], message: `ref('${r}'): checks run in PostgreSQL; "${r}" loads into ClickHouse` });
  }
  return { sections: { dimensions: spec.dimensions ?? {}, models: order, checks: spec.checks ?? [] }, problems };
}

/**
 * `models:` of a pipeline: SQL files selecting from tables and other models through
 * `{{ ref('name') }}`, materialized in the warehouse schema as views, tables or incremental tables,
 * run in dependency order after the loads they read (and on a cron schedule when given).
 */
import { z } from 'zod';

/** One model. */
export const modelSpec = z
  .strictObject({
    sql: z.string().min(1).meta({
      description: "SQL file (relative to the pipeline file): one SELECT; `{{ ref('name') }}` names a table, generated dimension or model.",
    }),
    materialized: z.enum(['view', 'table', 'incremental']).default('view').meta({
      description:
        '`view`: created once (re-created when the SQL changes); `table`: rebuilt on each run; `incremental`: each run inserts the SELECT, replacing rows with the same `unique_key`. In incremental SQL, text between `{% if is_incremental() %}` and `{% endif %}` is kept only once the table exists, and `{{ this }}` names it.',
    }),
    unique_key: z
      .array(z.string().regex(/^[a-z_][a-z0-9_]*$/))
      .min(1)
      .optional()
      .meta({ description: 'Incremental: the columns identifying a row.' }),
    schedule: z.string().optional().meta({ description: 'Cron expression (5 fields) to run it on a schedule too, e.g. `*/15 * * * *`.' }),
    after_load: z
      .boolean()
      .default(true)
      .meta({ description: 'Run after loads that wrote to a table it reads (directly or through other models).' }),
    description: z.string().optional(),
  })
  .meta({ title: 'model' });

/** `models:` by name. */
export const modelsSpec = z
  .record(z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower snake_case: a letter, then letters, digits or _ (max 63)'), modelSpec)
  .default({})
  .meta({ description: 'SQL models by name, materialized in the warehouse schema after the loads they depend on.' });

/** A parsed model spec. */
export type ModelSpec = z.output<typeof modelSpec>;

/** A model ready to run: its SQL read and its references found. */
export interface Model extends ModelSpec {
  name: string;
  /** The SQL text as written (with `ref()` placeholders). */
  text: string;
  /** Names it references with `ref()`. */
  refs: string[];
}

const REF_RE = /\{\{\s*ref\(\s*['"]([a-z][a-z0-9_]*)['"]\s*\)\s*\}\}/g;

/** The names referenced by `{{ ref('...') }}` in `sql`, in order of appearance, without repeats. */
export function refsOf(sql: string): string[] {
  return [...new Set([...sql.matchAll(REF_RE)].map((m) => m[1]!))];
}

/** Replaces `ref()`, `this` and the is_incremental block; `resolve` maps a name to a quoted table. */
export function renderModelSql(
  sql: string,
  resolve: (name: string) => string,
  opts: { self?: string; incremental?: boolean } = {},
): string {
  return sql
    .replace(/\{%\s*if\s+is_incremental\(\)\s*%\}([\s\S]*?)\{%\s*endif\s*%\}/g, (_, body: string) => (opts.incremental ? body : ''))
    .replace(REF_RE, (_, name: string) => resolve(name))
    .replace(/\{\{\s*this\s*\}\}/g, opts.self ?? '')
    .trim()
    .replace(/;\s*$/, '');
}

/** Orders models so each comes after the models it references; returns the cycle when there is one. */
export function orderModels(models: readonly Model[]): { order: Model[]; cycle?: string[] } {
  const byName = new Map(models.map((m) => [m.name, m]));
  const order: Model[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  let cycle: string[] | undefined;
  const visit = (m: Model, trail: string[]): void => {
    if (state.get(m.name) === 'done' || cycle) return;
    if (state.get(m.name) === 'visiting') {
      cycle = [...trail.slice(trail.indexOf(m.name)), m.name];
      return;
    }
    state.set(m.name, 'visiting');
    for (const r of m.refs) {
      const dep = byName.get(r);
      if (dep) visit(dep, [...trail, m.name]);
    }
    state.set(m.name, 'done');
    order.push(m);
  };
  for (const m of models) visit(m, []);
  return cycle ? { order, cycle } : { order };
}

/** The models that read `tables` directly or through other models, in dependency order. */
export function downstreamOf(models: readonly Model[], tables: Iterable<string>): Model[] {
  const dirty = new Set(tables);
  const out: Model[] = [];
  for (const m of orderModels(models).order) {
    if (m.refs.some((r) => dirty.has(r))) {
      out.push(m);
      dirty.add(m.name);
    }
  }
  return out;
}

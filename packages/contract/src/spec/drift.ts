/**
 * Schema drift (docs/design.md, "Names fixed for this round's contracts"): the `on_drift` policy
 * of a dataset (or the pipeline's default), the drift kinds, the event published on
 * `trib.events.<pipeline>.drift`, and the column type an `evolve` gives a new field. The
 * transformer detects drift where records are projected onto the dataset's fields; the loader
 * adds `evolve` columns; the monitor shows and alerts on the events.
 */
import { z } from 'zod';
import { FIELD_TYPES, type FieldType } from './common';
import type { ReferenceProblem } from './spec-problem';

/** What happens to a record that does not fit the dataset's declared fields. */
export const DRIFT_POLICIES = ['freeze', 'evolve', 'discard_value', 'discard_row'] as const;

/** One of `DRIFT_POLICIES`. */
export type DriftPolicy = (typeof DRIFT_POLICIES)[number];

/**
 * The policy of a dataset that writes none (and whose pipeline writes none): `freeze` for a
 * missing or mistyped field (the record is dead-lettered with every reason, as it always was), and
 * a new field is reported, not dead-lettered: its value is left out, counted and published as a
 * drift event, which alerts. Most datasets declare a subset of their source's fields, so strict
 * `freeze` on new fields is a choice a dataset makes by writing `on_drift: freeze`; whichever
 * applies, drift is never silent.
 */
export const DEFAULT_DRIFT_POLICY: DriftPolicy = 'freeze';

/** The `on_drift` key of a dataset or pipeline. */
export const driftPolicy = z.enum(DRIFT_POLICIES).meta({
  description:
    'Schema drift policy: what happens to a record with a field the spec does not know (`new`), without a required field (`missing`) or with a value of another type (`type_changed`). Unset: `freeze` for missing and mistyped fields, and a new field is left out and reported (counted, drift event, alert). `freeze`: the record is dead-lettered with every reason; `discard_value`: the new or mistyped value is dropped and the record goes on (a missing required field is still dead-lettered); `discard_row`: the record is dropped (counted as filtered); `evolve`: a new field is kept and the loader adds it to the PostgreSQL table (type from its values), a missing or mistyped field is dead-lettered. Every policy counts (`tributary_schema_drift_total`) and publishes a drift event on `trib.events.<pipeline>.drift`.',
});

/** How a record drifted from the dataset's fields. */
export type DriftKind = 'new' | 'missing' | 'type_changed';

/** What the policy did to the record (or value). */
export type DriftAction = 'dead_lettered' | 'value_dropped' | 'row_dropped' | 'column_added';

/**
 * The action each policy takes on each kind; `written`: the policy is written in the spec (an
 * unwritten default reports a new field instead of dead-lettering it, see `DEFAULT_DRIFT_POLICY`).
 */
export function driftAction(policy: DriftPolicy, kind: DriftKind, required: boolean, written = true): DriftAction {
  if (!written && kind === 'new') return 'value_dropped';
  if (policy === 'discard_row') return 'row_dropped';
  if (policy === 'discard_value' && (kind === 'new' || (kind === 'type_changed' && !required))) return 'value_dropped';
  if (policy === 'evolve' && kind === 'new') return 'column_added';
  return 'dead_lettered';
}

/** The body of a drift event (`trib.events.<pipeline>.drift`, JSON), once per dataset, field and kind per period. */
export interface DriftEvent {
  pipeline: string;
  dataset: string;
  /** The source whose records drifted. */
  source: string;
  field: string;
  kind: DriftKind;
  /** The declared type (`missing`, `type_changed`); absent for a `new` field. */
  expected?: string;
  /** What was seen: a JSON type (`string`, `number`, `boolean`, `object`, `array`, `null`), or `missing`. */
  seen: string;
  policy: DriftPolicy;
  /** The policy is the default, not written in the spec (`DEFAULT_DRIFT_POLICY`). */
  default?: boolean;
  action: DriftAction;
  /** `evolve`: the PostgreSQL column type the loader gives the field (`column_added`). */
  column_type?: string;
  /** When this process first saw it (ISO 8601), and last. */
  first_seen: string;
  last_seen: string;
  /** Records with this drift since `first_seen`, and since the previous event. */
  count: number;
  new_count: number;
  /** `discard_row` and `freeze`: one record it happened to, as it arrived at the projection. */
  sample?: unknown;
}

/** The event name drift events are published under (`subjects.events(pipeline, DRIFT_EVENT)`). */
export const DRIFT_EVENT = 'drift';

/** The JSON type of a value as a drift event names it. */
export function jsonTypeOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'bigint' ? 'number' : typeof v;
}

// RFC 3339 date-time with a zone: what `evolve` stores as timestamptz.
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;

/**
 * The field type `evolve` gives a new field from a value: string (a zoned RFC 3339 time is a
 * timestamp), integer or decimal for numbers (numeric keeps either exactly), boolean, json for
 * objects and arrays; undefined for null (no type to infer yet).
 */
export function inferFieldType(v: unknown): Exclude<FieldType, 'number' | 'date' | 'integer'> | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number' || typeof v === 'bigint') return 'decimal';
  if (typeof v === 'string') return TIMESTAMP_RE.test(v) ? 'timestamp' : 'string';
  return 'json';
}

/** The PostgreSQL column type of an inferred field type (`numeric` without a fixed scale for numbers). */
export function evolvedColumnType(t: NonNullable<ReturnType<typeof inferFieldType>>): string {
  return t === 'decimal' ? 'numeric' : FIELD_TYPES[t];
}

/** Load modes whose tables `evolve` may add columns to (their merge copies every staged column). */
export const EVOLVE_MODES: readonly string[] = ['append', 'upsert'];

const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * `evolve` needs tables that can take a new column: PostgreSQL tables (no `sink:`) of an
 * `EVOLVE_MODES` mode. A dataset under `evolve` (its own or the pipeline's) feeding another table
 * is a spec error, as is an event named `drift` (it would mix with drift events).
 */
export function checkDriftReferences(root: unknown): ReferenceProblem[] {
  const doc = obj(root);
  const out: ReferenceProblem[] = [];
  const fallback = doc.on_drift;
  for (const [name, raw] of Object.entries(obj(doc.datasets))) {
    const ds = obj(raw);
    const policy = ds.on_drift ?? fallback;
    if (policy === 'evolve') {
      for (const [table, t] of Object.entries(obj(doc.tables))) {
        const tb = obj(t);
        if (tb.from !== name) continue;
        const mode = typeof tb.mode === 'string' ? tb.mode : 'append';
        if (tb.sink !== undefined || !EVOLVE_MODES.includes(mode)) {
          out.push({
            path: ds.on_drift !== undefined ? ['datasets', name, 'on_drift'] : ['on_drift'],
            message: `on_drift: evolve adds columns to PostgreSQL tables of mode ${EVOLVE_MODES.join(', ')}; table "${table}" (from dataset "${name}") is ${tb.sink !== undefined ? 'not in PostgreSQL' : `mode ${mode}`}`,
          });
        }
      }
    }
    if (Array.isArray(ds.steps)) {
      ds.steps.forEach((s: unknown, i) => {
        const step = obj(s);
        const named = typeof step.emit === 'string' ? step.emit : (obj(step.emit).name ?? obj(step.window).emit);
        if (named === DRIFT_EVENT) {
          out.push({
            path: ['datasets', name, 'steps', i],
            message: `the event name "${DRIFT_EVENT}" is taken by schema drift events (trib.events.<pipeline>.drift)`,
          });
        }
      });
    }
  }
  return out;
}

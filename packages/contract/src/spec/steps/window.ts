/**
 * The `window` step's config and what follows from it: which windows an event time falls in, the
 * fields a window dataset has (derived, never declared), and how each column merges additively.
 * Shared by the transformer (which emits partial aggregates) and the loader's `aggregate` mode
 * (which merges them), so both sides read one definition.
 */
import { z } from 'zod';
import { duration, identifier, type FieldDef, type FieldType } from '../common';

/** Aggregate functions a window computes. */
export type AggregateFn = 'count' | 'sum' | 'avg' | 'min' | 'max';

/** One aggregate column: `vehicles: count()`, `avg_speed: avg(speed_kmh)`. */
export interface AggregateDef {
  fn: AggregateFn;
  /** The input field; `count()` without one counts records. */
  field?: string;
}

const AGGREGATE_RE = /^\s*(count|sum|avg|min|max)\(\s*([A-Za-z_][A-Za-z0-9_]*)?\s*\)\s*$/;

/** `count()`, `count(field)` (non-null values), `sum(field)`, `avg(field)`, `min(field)`, `max(field)`. */
export const aggregateExpr = z
  .string()
  .regex(AGGREGATE_RE, 'must be count(), count(field), sum(field), avg(field), min(field) or max(field)')
  .transform((s): AggregateDef => {
    const m = AGGREGATE_RE.exec(s)!;
    return m[2] ? { fn: m[1] as AggregateFn, field: m[2] } : { fn: m[1] as AggregateFn };
  })
  .meta({ description: 'An aggregate: `count()`, `count(f)`, `sum(f)`, `avg(f)`, `min(f)` or `max(f)`.' });

/** A comparison in a flag: `avg_speed < 40`. */
export interface FlagTerm {
  column: string;
  op: '<' | '<=' | '>' | '>=' | '=' | '!=';
  value: number;
}

const TERM_RE = /^\s*([a-z][a-z0-9_]*)\s*(<=|>=|!=|<|>|=)\s*(-?\d+(?:\.\d+)?)\s*$/;

/**
 * A flag: comparisons of aggregate columns with numbers joined by `and`, e.g.
 * `avg_speed < 40 and vehicles >= 20`. Deliberately tiny: it is evaluated on merged values in SQL
 * by the loader and in JavaScript for final events, and a two-way language must stay obviously safe.
 */
export const flagExpr = z
  .string()
  .refine((s) => s.split(/\s+and\s+/i).every((t) => TERM_RE.test(t)), 'must be comparisons like `avg_speed < 40 and vehicles >= 20`')
  .transform((s): FlagTerm[] =>
    s.split(/\s+and\s+/i).map((t) => {
      const m = TERM_RE.exec(t)!;
      return { column: m[1]!, op: m[2] as FlagTerm['op'], value: Number(m[3]) };
    }),
  )
  .meta({ description: 'Comparisons of aggregate columns with numbers, joined by `and`: `avg_speed < 40 and vehicles >= 20`.' });

/** Config of the `window` step. */
export const windowStepSpec = z
  .strictObject({
    tumbling: duration.optional().meta({ description: 'Tumbling windows of this size, aligned to the epoch (UTC), e.g. `1m`.' }),
    hopping: z
      .strictObject({
        size: duration.meta({ description: 'Window length, e.g. `15m`.' }),
        advance: duration.meta({ description: 'A new window starts every `advance`, e.g. `1m`; must divide `size`.' }),
      })
      .optional()
      .meta({ description: 'Overlapping windows: each record counts in `size / advance` windows.' }),
    time: z
      .string()
      .min(1)
      .meta({ description: 'Event-time field (ISO 8601 or epoch milliseconds); a record without it is dead-lettered.' }),
    key: z.array(identifier).default([]).meta({ description: 'Group by these fields (one row per window and key).' }),
    aggregate: z
      .record(identifier, aggregateExpr)
      .refine((a) => Object.keys(a).length > 0, 'declare at least one aggregate')
      .meta({ description: 'Output columns and their aggregates, e.g. `{ vehicles: count(), avg_speed: avg(speed_kmh) }`.' }),
    flags: z
      .record(identifier, flagExpr)
      .default({})
      .meta({ description: 'Boolean columns computed on the merged values, e.g. `{ congested: "avg_speed < 40 and vehicles >= 20" }`.' }),
    allowed_lateness: duration
      .default(0)
      .meta({ description: 'A window is final once the newest event time seen minus this passes its end (the watermark).' }),
    emit: identifier.optional().meta({ description: 'Publish each final window row as an event on `trib.events.<pipeline>.<emit>`.' }),
  })
  .superRefine((w, ctx) => {
    if ((w.tumbling === undefined) === (w.hopping === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'set exactly one of `tumbling` or `hopping`' });
    }
    if (w.tumbling !== undefined && w.tumbling <= 0) ctx.addIssue({ code: 'custom', path: ['tumbling'], message: 'must be positive' });
    if (w.hopping) {
      const { size, advance } = w.hopping;
      if (advance <= 0 || size <= 0 || size % advance !== 0) {
        ctx.addIssue({ code: 'custom', path: ['hopping'], message: '`advance` must be positive and divide `size`' });
      }
    }
    const names = new Set(Object.keys(w.aggregate));
    for (const [name, agg] of Object.entries(w.aggregate)) {
      if (agg.fn !== 'count' && !agg.field)
        ctx.addIssue({ code: 'custom', path: ['aggregate', name], message: `${agg.fn}() needs a field` });
      if (w.key.includes(name) || RESERVED.has(name)) {
        ctx.addIssue({ code: 'custom', path: ['aggregate', name], message: `"${name}" is a key or reserved column name` });
      }
    }
    for (const [name, terms] of Object.entries(w.flags)) {
      if (names.has(name) || w.key.includes(name) || RESERVED.has(name)) {
        ctx.addIssue({ code: 'custom', path: ['flags', name], message: `"${name}" is already a column` });
      }
      for (const t of terms) {
        if (!names.has(t.column)) ctx.addIssue({ code: 'custom', path: ['flags', name], message: `"${t.column}" is not an aggregate` });
      }
    }
  })
  .meta({
    description:
      "Event-time tumbling or hopping windows: emits partial aggregates per window and key for each input batch; the `aggregate` load mode merges them, so results are exact under redelivery and scale-out. Must be the last step; the dataset's fields are derived.",
  });

/** A parsed window config. */
export type WindowConfig = z.output<typeof windowStepSpec>;

/** Header of a window dataset's processed message: input records aggregated into its rows. */
export const AGGREGATED_HEADER = 'Trib-Aggregated';

/** Columns every window row has besides its keys, aggregates and flags. */
export const WINDOW_COLUMNS = {
  start: 'window_start',
  end: 'window_end',
  /** Input records behind the row: the counting invariant of a window dataset is the sum of these. */
  records: 'record_count',
  /** Newest event time behind the row: the watermark is the newest of these minus the lateness. */
  maxEventTime: 'max_event_time',
  /** Records merged into the row after it was published as final. */
  late: 'late_records',
  /** Set once the row was published as final (its window passed the watermark). */
  final: 'final',
} as const;

const RESERVED = new Set<string>(Object.values(WINDOW_COLUMNS));

/** Window size and advance in ms (tumbling: advance = size). */
export function windowShape(w: WindowConfig): { size: number; advance: number } {
  return w.hopping ? { size: w.hopping.size, advance: w.hopping.advance } : { size: w.tumbling!, advance: w.tumbling! };
}

/** Start times of the windows that contain event time `t` (ms), oldest first. */
export function windowStarts(t: number, size: number, advance: number): number[] {
  const last = Math.floor(t / advance) * advance;
  const out: number[] = [];
  for (let s = last - size + advance; s <= last; s += advance) out.push(s);
  return out;
}

/** The helper columns behind `avg(field)` named `name`: the sum and count it is computed from. */
export function avgParts(name: string): { sum: string; count: string } {
  return { sum: `${name}_sum`, count: `${name}_count` };
}

/** How a column of a window's partial rows merges: add, keep the smaller, keep the larger, or keep the first. */
export type WindowMerge = 'add' | 'min' | 'max' | 'keep';

/**
 * How partial rows of a window merge, whatever the engine: each stored column's rule, and each
 * average's sum and count columns (an average is its merged sum over its merged count).
 */
export function windowMergePlan(w: WindowConfig): { merges: Map<string, WindowMerge>; avgs: Map<string, { sum: string; count: string }> } {
  const merges = new Map<string, WindowMerge>([
    [WINDOW_COLUMNS.end, 'keep'],
    [WINDOW_COLUMNS.records, 'add'],
    [WINDOW_COLUMNS.maxEventTime, 'max'],
  ]);
  const avgs = new Map<string, { sum: string; count: string }>();
  for (const [name, a] of Object.entries(w.aggregate)) {
    if (a.fn === 'avg') {
      const p = avgParts(name);
      avgs.set(name, p);
      merges.set(p.sum, 'add').set(p.count, 'add');
    } else merges.set(name, a.fn === 'min' ? 'min' : a.fn === 'max' ? 'max' : 'add');
  }
  return { merges, avgs };
}

/** Type of an aggregate's column, given the input field's type when known. */
export function aggregateType(agg: AggregateDef, input: FieldType | undefined): FieldType {
  if (agg.fn === 'count') return 'integer';
  if (input === 'decimal') return agg.fn === 'avg' ? 'number' : 'decimal';
  if (agg.fn === 'avg') return 'number';
  if (agg.fn === 'sum') return input === 'integer' ? 'integer' : 'number';
  return input === 'integer' || input === 'timestamp' || input === 'date' ? input : 'number';
}

/**
 * The fields of a window dataset, in column order: window bounds, keys, aggregates (an `avg` adds
 * its sum and count, which is what merges), flags, then the bookkeeping columns.
 * `inputTypes` are the types of the fields feeding the window, when the input is a dataset.
 */
export function windowFields(
  w: WindowConfig,
  inputTypes: Record<string, FieldType>,
  inputDecimals: Record<string, Pick<FieldDef, 'precision' | 'scale'>> = {},
): FieldDef[] {
  const out: FieldDef[] = [
    { name: WINDOW_COLUMNS.start, type: 'timestamp', required: true },
    { name: WINDOW_COLUMNS.end, type: 'timestamp', required: true },
    { name: WINDOW_COLUMNS.records, type: 'integer', required: true },
    ...w.key.map((k): FieldDef => ({ name: k, type: inputTypes[k] ?? 'string', required: true, ...decimalOf(inputDecimals[k]) })),
  ];
  for (const [name, agg] of Object.entries(w.aggregate)) {
    const input = agg.field ? inputTypes[agg.field] : undefined;
    // Over a decimal, sums keep the scale and widen to the largest precision; min/max keep both.
    const dec = input === 'decimal' ? inputDecimals[agg.field!] : undefined;
    const wide = dec && { precision: MAX_DECIMAL_PRECISION, scale: dec.scale };
    const type = aggregateType(agg, input);
    out.push({ name, type, required: false, ...(type === 'decimal' ? decimalOf(agg.fn === 'sum' ? wide : dec) : {}) });
    if (agg.fn === 'avg') {
      const p = avgParts(name);
      out.push(dec ? { name: p.sum, type: 'decimal', required: false, ...wide } : { name: p.sum, type: 'number', required: false }, {
        name: p.count,
        type: 'integer',
        required: false,
      });
    }
  }
  for (const name of Object.keys(w.flags)) out.push({ name, type: 'boolean', required: false });
  out.push(
    { name: WINDOW_COLUMNS.maxEventTime, type: 'timestamp', required: true },
    { name: WINDOW_COLUMNS.late, type: 'integer', required: true },
    { name: WINDOW_COLUMNS.final, type: 'boolean', required: true },
  );
  return out;
}

/** Largest decimal precision both warehouses take (the precision of a decimal sum). */
export const MAX_DECIMAL_PRECISION = 38;

function decimalOf(d: Pick<FieldDef, 'precision' | 'scale'> | undefined): Pick<FieldDef, 'precision' | 'scale'> {
  return d ? { precision: d.precision, scale: d.scale } : {};
}

/** Evaluates a flag on a row of merged values (null when a column is null). */
export function evaluateFlag(terms: FlagTerm[], row: Record<string, unknown>): boolean | null {
  let result = true;
  for (const t of terms) {
    const v = row[t.column];
    if (v === null || v === undefined) return null;
    const n = Number(v);
    const ok =
      t.op === '<'
        ? n < t.value
        : t.op === '<='
          ? n <= t.value
          : t.op === '>'
            ? n > t.value
            : t.op === '>='
              ? n >= t.value
              : t.op === '='
                ? n === t.value
                : n !== t.value;
    result &&= ok;
  }
  return result;
}

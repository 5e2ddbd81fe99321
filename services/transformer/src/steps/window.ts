/**
 * `window`: event-time tumbling and hopping windows. For each input batch it emits one partial
 * aggregate row per (window, key) covering only that batch's records; the loader's `aggregate`
 * mode adds partials together. A partial depends on nothing but the batch itself, so a redelivered
 * batch republishes identical rows under the same message ID (dropped by JetStream's duplicate
 * window or the loader's ledger), and any number of replicas can aggregate side by side: there is
 * no window state in the transformer to lose, share or lock.
 * Finality (the watermark) and late records are decided where the merged rows live: see
 * `window-finalizer.ts`.
 */
import Big from 'big.js';
import { avgParts, STEP_SPECS, WINDOW_COLUMNS, windowShape, windowStarts, type AggregateDef } from '@tributary/contract/spec';
import { decimalText } from '@tributary/contract/schema';
import { TributaryError } from '@tributary/contract/errors';
import { type Rec } from '@tributary/contract/codec';
import { castValue } from '../values/cast-value';
import type { BatchItem, StepFactory, StepFailure } from './step';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.window;

interface Acc {
  start: number;
  keys: unknown[];
  records: number;
  maxTime: number;
  /** Per aggregate: count, sum, min, max of the non-null values. */
  aggs: { n: number; sum: number; min: number | undefined; max: number | undefined }[];
  /** Per aggregate over a decimal field: exact sum, min and max (no double ever holds them). */
  exact: ({ sum: Big; min?: Big; max?: Big } | undefined)[];
}

/** Reads a decimal value exactly; null stays null. */
function exactDecimal(field: string, value: unknown): Big | null {
  if (value === null || value === undefined) return null;
  const text = decimalText(value);
  if (text instanceof Error) {
    throw new TributaryError('TRIB_E_VALIDATION', `field "${field}": ${JSON.stringify(value)} ${text.message}`, { location: { field } });
  }
  return new Big(text);
}

/** Reads a value as a number for sum/avg/min/max (timestamps as epoch ms); null stays null. */
function numeric(field: string, value: unknown, asTime: boolean): number | null {
  if (value === null || value === undefined) return null;
  if (asTime) return Date.parse(castValue(field, 'timestamp', value) as string);
  return castValue(field, 'number', value) as number;
}

/** Creates the step. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  const { size, advance } = windowShape(config);
  const aggs = Object.entries(config.aggregate) as [string, AggregateDef][];
  // min/max of a timestamp field stay timestamps (first_seen: min(observed_at)); the derived
  // field types (from the input dataset) say which.
  const fields = deps.pipeline.datasets.find((d) => d.name === deps.dataset)?.fields ?? [];
  const timeAgg = new Set(aggs.flatMap(([name], i) => (fields.find((f) => f.name === name)?.type === 'timestamp' ? [i] : [])));
  // Aggregates over decimal fields (their sums are decimal columns) add up exactly.
  const decAgg = new Set(
    aggs.flatMap(([name, a], i) =>
      fields.find((f) => f.name === (a.fn === 'avg' ? avgParts(name).sum : name))?.type === 'decimal' ? [i] : [],
    ),
  );
  return {
    kind: 'window',
    async applyBatch(items) {
      const groups = new Map<string, Acc>();
      const failures: StepFailure[] = [];
      for (const it of items) {
        try {
          const t = numeric(config.time, it.record[config.time], true);
          if (t === null) {
            throw new TributaryError('TRIB_E_VALIDATION', `event-time field "${config.time}" is missing`, {
              location: { field: config.time },
            });
          }
          const keys = config.key.map((k) => {
            const v = it.record[k];
            if (v === null || v === undefined) {
              throw new TributaryError('TRIB_E_VALIDATION', `window key field "${k}" is missing`, { location: { field: k } });
            }
            return v;
          });
          // Read every aggregated value before touching any group, so a bad record counts nowhere.
          const values = aggs.map(([, a], i) => {
            if (!a.field) return 1;
            const raw = it.record[a.field];
            if (a.fn === 'count') return raw === null || raw === undefined ? null : 1;
            return decAgg.has(i) ? exactDecimal(a.field, raw) : numeric(a.field, raw, timeAgg.has(i));
          });
          for (const start of windowStarts(t, size, advance)) {
            const id = JSON.stringify([start, ...keys]);
            let g = groups.get(id);
            if (!g) {
              g = {
                start,
                keys,
                records: 0,
                maxTime: t,
                aggs: aggs.map(() => ({ n: 0, sum: 0, min: undefined, max: undefined })),
                exact: aggs.map((_, i) => (decAgg.has(i) ? { sum: new Big(0) } : undefined)),
              };
              groups.set(id, g);
            }
            g.records++;
            g.maxTime = Math.max(g.maxTime, t);
            values.forEach((v, i) => {
              if (v === null) return;
              const a = g.aggs[i]!;
              const e = g.exact[i];
              if (v instanceof Big) {
                a.n++;
                e!.sum = e!.sum.plus(v);
                if (e!.min === undefined || v.lt(e!.min)) e!.min = v;
                if (e!.max === undefined || v.gt(e!.max)) e!.max = v;
                return;
              }
              a.n++;
              a.sum += v;
              a.min = a.min === undefined ? v : Math.min(a.min, v);
              a.max = a.max === undefined ? v : Math.max(a.max, v);
            });
          }
        } catch (err) {
          if (!(err instanceof TributaryError)) throw err;
          failures.push({ index: it.index, record: it.record, error: err });
        }
      }
      const out: BatchItem[] = [];
      for (const g of groups.values()) {
        const row: Rec = {
          [WINDOW_COLUMNS.start]: new Date(g.start).toISOString(),
          [WINDOW_COLUMNS.end]: new Date(g.start + size).toISOString(),
          [WINDOW_COLUMNS.records]: g.records,
        };
        config.key.forEach((k, i) => (row[k] = g.keys[i]));
        aggs.forEach(([name, a], i) => {
          const s = g.aggs[i]!;
          const asTime = (v: number | undefined) => (v === undefined ? null : timeAgg.has(i) ? new Date(v).toISOString() : v);
          const e = g.exact[i];
          if (e && a.fn !== 'count') {
            const p = avgParts(name);
            if (a.fn === 'sum') row[name] = s.n ? e.sum.toFixed() : null;
            else if (a.fn === 'min') row[name] = e.min?.toFixed() ?? null;
            else if (a.fn === 'max') row[name] = e.max?.toFixed() ?? null;
            else {
              row[p.sum] = s.n ? e.sum.toFixed() : null;
              row[p.count] = s.n;
              row[name] = s.n ? Number(e.sum.div(s.n).toPrecision(17)) : null;
            }
            return;
          }
          if (a.fn === 'count') row[name] = s.n;
          else if (a.fn === 'sum') row[name] = s.n ? s.sum : null;
          else if (a.fn === 'min') row[name] = asTime(s.min);
          else if (a.fn === 'max') row[name] = asTime(s.max);
          else {
            const p = avgParts(name);
            row[p.sum] = s.n ? s.sum : null;
            row[p.count] = s.n;
            row[name] = s.n ? s.sum / s.n : null;
          }
        });
        // Flags are computed by the loader on merged values; a partial's would mean nothing.
        for (const f of Object.keys(config.flags)) row[f] = null;
        row[WINDOW_COLUMNS.maxEventTime] = new Date(g.maxTime).toISOString();
        row[WINDOW_COLUMNS.late] = 0;
        row[WINDOW_COLUMNS.final] = false;
        out.push({ record: row, index: -1 });
      }
      return { items: out, filtered: 0, failures, aggregated: items.length - failures.length };
    },
  };
};

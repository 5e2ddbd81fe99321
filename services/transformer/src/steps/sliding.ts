/**
 * `sliding`: a look-back window per record. For each record it adds aggregates over the records
 * of its key with event time in (t - size, t] (this card's transactions in the last 10 minutes)
 * and fields of the key's previous record (for impossible-travel checks).
 *
 * Not additive (every record has its own window), so the key's recent records live in the
 * `trib_windows` KV bucket: one entry per key, pruned to the look-back plus `allowed_lateness`
 * behind the newest event time of the key, changed only by compare-and-set (`state/keyed-state.ts`).
 *
 * What "exact" means here, and why it holds:
 * - Each record's values are computed once, against the records of its key applied before it,
 *   and stored with its input message's marker: a redelivered message gets the same values back
 *   (and its records are not added again), whichever replica handles it.
 * - Two replicas applying records of one key at once are serialised by compare-and-set: each key
 *   has one order of application, and every record sees exactly the records before it in that
 *   order (the tests check counts 1..n for n records racing on one key).
 * - With records of a key arriving in event-time order (per key, not globally), that equals the
 *   brute-force window. A record arriving after later records of its key still sees the records
 *   of its own look-back that were applied before it; records applied after it are not added to
 *   its values retroactively (an emitted record is never changed).
 */
import type { KV } from '@nats-io/kv';
import { STEP_SPECS, type AggregateDef } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { type Rec } from '@tributary/contract/codec';
import { KeyedState, MARKER_TTL_MS } from '../state/keyed-state';
import { stateKey } from '../state/state-key';
import type { BatchItem, StepFactory, StepFailure } from './step';
import { eventTime, keyValues, numberValue } from '../values/time-value';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.sliding;

/** A record of the key: time, ID, the aggregated values, the fields `previous` reads. */
interface Entry {
  t: number;
  id: string;
  v: (number | null)[];
  p: Rec;
}

interface SlidingState {
  r: Entry[];
  /** Newest event time of the key. */
  mx: number;
}

/** The fields added to the record at batch position `x`. */
interface Output {
  x: number;
  a: Rec;
}

/** Aggregates over `window` (values at `i` of each entry). */
export function aggregateValues(aggs: [string, AggregateDef][], inputs: string[], window: Entry[]): Rec {
  const out: Rec = {};
  for (const [name, a] of aggs) {
    if (a.fn === 'count' && !a.field) {
      out[name] = window.length;
      continue;
    }
    const i = inputs.indexOf(a.field!);
    const vals = window.map((e) => e.v[i]).filter((v): v is number => v !== null && v !== undefined);
    if (a.fn === 'count') out[name] = vals.length;
    else if (vals.length === 0) out[name] = null;
    else if (a.fn === 'sum') out[name] = vals.reduce((s, v) => s + v, 0);
    else if (a.fn === 'avg') out[name] = vals.reduce((s, v) => s + v, 0) / vals.length;
    else if (a.fn === 'min') out[name] = Math.min(...vals);
    else out[name] = Math.max(...vals);
  }
  return out;
}

/** Creates the step. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  const where = `datasets.${deps.dataset}.steps[${deps.index}].sliding`;
  const aggs = Object.entries(config.aggregate) as [string, AggregateDef][];
  const inputs = [...new Set(aggs.flatMap(([, a]) => (a.field ? [a.field] : [])))];
  const prevFields = [...new Set(Object.values(config.previous))];
  const horizon = config.size + config.allowed_lateness;
  const prefix = `sliding.${deps.pipeline.name}.${deps.dataset}.${deps.index}.`;
  let state: KeyedState<SlidingState, Output> | undefined;
  let lastCollected = -Infinity;

  /** Applies one key's records of a batch in batch order, computing each one's added fields. */
  function applyKey(cur: SlidingState | null, list: { it: BatchItem; id: string; t: number; v: (number | null)[] }[]) {
    const s: SlidingState = cur ? { r: [...cur.r], mx: cur.mx } : { r: [], mx: -Infinity };
    const out: Output[] = [];
    for (const { it, id, t, v } of list) {
      // Already applied (a redelivery whose marker expired): values from the state as it is, not added again.
      const known = s.r.some((e) => e.id === id);
      const self: Entry = { t, id, v, p: Object.fromEntries(prevFields.map((f) => [f, it.record[f] ?? null])) };
      const inWindow = s.r.filter((e) => e.id !== id && e.t > t - config.size && e.t <= t);
      let prev: Entry | undefined;
      for (const e of inWindow) if (!prev || e.t >= prev.t) prev = e;
      const a = aggregateValues(aggs, inputs, config.include_current ? [...inWindow, self] : inWindow);
      for (const [name, field] of Object.entries(config.previous)) a[name] = prev ? (prev.p[field] ?? null) : null;
      out.push({ x: it.index, a });
      if (!known) s.r.push(self);
      s.mx = Math.max(s.mx, t);
    }
    s.r = s.r.filter((e) => e.t > s.mx - horizon);
    return { state: s.r.length > 0 ? s : null, out };
  }

  return {
    kind: 'sliding',
    needs: ['windows'],
    async open(services) {
      if (!services.windows) throw new TributaryError('TRIB_E_TOPOLOGY_MISSING', `${where}: needs the trib_windows KV bucket`);
      // A key too busy for one entry keeps its newest records (older look-backs come out short).
      state = new KeyedState<SlidingState, Output>(services.windows as KV, where, (s) => ({
        ...s,
        r: s.r.slice(Math.ceil(s.r.length / 2)),
      }));
    },
    async applyBatch(items, ctx) {
      const failures: StepFailure[] = [];
      const byKey = new Map<string, { it: BatchItem; id: string; t: number; v: (number | null)[] }[]>();
      for (const it of items) {
        try {
          const key = stateKey('sliding', ctx.pipeline, ctx.dataset, deps.index, keyValues(it.record, config.key, 'sliding key'));
          const t = eventTime(it.record, config.time);
          const v = inputs.map((f) => numberValue(it.record, f));
          if (!byKey.has(key)) byKey.set(key, []);
          byKey.get(key)!.push({ it, id: `${ctx.inputId}#${it.index}`, t, v });
        } catch (err) {
          if (!(err instanceof TributaryError)) throw err;
          failures.push({ index: it.index, record: it.record, error: err });
        }
      }
      const now = Date.now();
      const results = await Promise.all([...byKey].map(([key, list]) => state!.apply(key, ctx.inputId, now, (cur) => applyKey(cur, list))));
      const added = new Map(results.flatMap((r) => r.out.map((o) => [o.x, o.a] as const)));
      const kept = items.filter((it) => added.has(it.index)).map((it) => ({ ...it, record: { ...it.record, ...added.get(it.index) } }));
      return { items: kept, filtered: 0, failures };
    },
    // Nothing to release; collects the entries of keys idle for longer than anything could need
    // them. Listing every key is not free, so at most once a minute.
    async release(now) {
      if (now - lastCollected < 60_000) return [];
      lastCollected = now;
      for (const key of await state!.keys(prefix)) {
        await state!.update(key, now, (_cur, lastWrite) => (now - lastWrite >= horizon + MARKER_TTL_MS ? { state: null } : undefined));
      }
      return [];
    },
  };
};

/**
 * `session`: gap-based session windows per key. Records of a key whose event times are less than
 * `gap` apart form one session (a late record that bridges two sessions merges them); a session
 * is closed, and emitted as one row, once the key's newest event time minus `allowed_lateness` is
 * `gap` past its end, or when the key has been idle for `idle_timeout` (processing time: released
 * by the transformer's state sweeper, so a quiet key does not hold its last session forever).
 *
 * Open sessions cannot be merged additively by the loader (a bridging record joins two rows into
 * one), so they live in the `trib_windows` KV bucket, one entry per key, changed only by
 * compare-and-set (`state/keyed-state.ts`):
 * - two replicas adding records of one key are serialised by compare-and-set, so every record is
 *   in exactly one session and the sessions do not depend on which replica applied what;
 * - the rows a message closes are stored with its marker, so a redelivery publishes the same rows
 *   under the same IDs and adds nothing again;
 * - idle releases are recorded before they are published and forgotten after their PubAcks
 *   (ID `session:<pipeline>/<dataset>.<step>:<key>:<n>`, n counting the key's sessions), so a crash in
 *   between publishes the row again under the same ID, which is dropped downstream.
 * A record arriving after its session was emitted starts a new session.
 */
import type { KV } from '@nats-io/kv';
import { oldestSourceTime } from '@tributary/contract/wire';
import { STEP_SPECS, type AggregateDef } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { type Rec } from '@tributary/contract/codec';
import { KeyedState, MARKER_TTL_MS } from '../state/keyed-state';
import { stateKey } from '../state/state-key';
import type { BatchItem, Release, StepFactory, StepFailure } from './step';
import { eventTime, keyValues, numberValue } from '../values/time-value';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.session;

/** Running aggregate of one column: count, sum, min, max of the non-null values. */
type Acc = [n: number, sum: number, min: number | null, max: number | null];

interface Session {
  s: number;
  e: number;
  n: number;
  a: Acc[];
  /** The oldest source time of its records, when they had one. */
  st?: string;
}

interface SessionState {
  /** Key values as in the first record (typed, for the rows). */
  k: unknown[];
  /** Open sessions, by start. */
  o: Session[];
  /** Newest event time of the key. */
  mx: number;
  /** Last record applied (processing time). */
  last: number;
  /** Sessions of the key closed so far (numbers releases). */
  c: number;
  /** Rows released by the clock, not yet confirmed. */
  r: { id: string; row: Rec; at: number; st?: string }[];
}

/** Creates the step. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  const where = `datasets.${deps.dataset}.steps[${deps.index}].session`;
  const aggs = Object.entries(config.aggregate) as [string, AggregateDef][];
  const idle = config.idle_timeout ?? config.gap + config.allowed_lateness;
  const prefix = `session.${deps.pipeline.name}.${deps.dataset}.${deps.index}.`;
  let state: KeyedState<SessionState, Rec> | undefined;

  const row = (st: SessionState, s: Session): Rec => {
    const out: Rec = {
      session_start: new Date(s.s).toISOString(),
      session_end: new Date(s.e).toISOString(),
      record_count: s.n,
    };
    config.key.forEach((k, i) => (out[k] = st.k[i]));
    aggs.forEach(([name, a], i) => {
      const [n, sum, min, max] = s.a[i]!;
      out[name] = a.fn === 'count' ? n : n === 0 ? null : a.fn === 'sum' ? sum : a.fn === 'avg' ? sum / n : a.fn === 'min' ? min : max;
    });
    return out;
  };

  /** Adds one record (its time and per-aggregate values) to the key's sessions, merging what it bridges. */
  function add(st: SessionState, t: number, values: (number | null)[], time: string | undefined): void {
    const touching = st.o.filter((s) => t > s.s - config.gap && t < s.e + config.gap);
    const merged: Session = { s: t, e: t, n: 1, a: values.map((v): Acc => (v === null ? [0, 0, null, null] : [1, v, v, v])) };
    const oldest = oldestSourceTime(time, ...touching.map((s) => s.st));
    if (oldest) merged.st = oldest;
    for (const s of touching) {
      merged.s = Math.min(merged.s, s.s);
      merged.e = Math.max(merged.e, s.e);
      merged.n += s.n;
      merged.a = merged.a.map(([n, sum, min, max], i) => {
        const [n2, sum2, min2, max2] = s.a[i]!;
        return [
          n + n2,
          sum + sum2,
          min === null ? min2 : min2 === null ? min : Math.min(min, min2),
          max === null ? max2 : max2 === null ? max : Math.max(max, max2),
        ];
      });
    }
    st.o = [...st.o.filter((s) => !touching.includes(s)), merged].sort((a, b) => a.s - b.s);
  }

  return {
    kind: 'session',
    needs: ['windows'],
    async open(services) {
      if (!services.windows) throw new TributaryError('TRIB_E_TOPOLOGY_MISSING', `${where}: needs the trib_windows KV bucket`);
      state = new KeyedState<SessionState, Rec>(services.windows as KV, where);
    },
    async applyBatch(items, ctx) {
      const failures: StepFailure[] = [];
      const byKey = new Map<string, { it: BatchItem; t: number; v: (number | null)[] }[]>();
      for (const it of items) {
        try {
          const key = stateKey('session', ctx.pipeline, ctx.dataset, deps.index, keyValues(it.record, config.key, 'session key'));
          const t = eventTime(it.record, config.time);
          // A count() counts records; any other aggregate reads its field (null values are skipped).
          const v = aggs.map(([, a]) =>
            a.field ? (a.fn === 'count' ? (it.record[a.field] == null ? null : 1) : numberValue(it.record, a.field)) : 1,
          );
          if (!byKey.has(key)) byKey.set(key, []);
          byKey.get(key)!.push({ it, t, v });
        } catch (err) {
          if (!(err instanceof TributaryError)) throw err;
          failures.push({ index: it.index, record: it.record, error: err });
        }
      }
      const now = Date.now();
      // The oldest source time of the sessions this batch closed (not known when a redelivery
      // gets its stored rows back: the batch's own time stands in then).
      let closedTime: string | undefined;
      const results = await Promise.all(
        [...byKey].map(([key, list]) =>
          state!.apply(key, ctx.inputId, now, (cur) => {
            const st: SessionState = cur
              ? { ...cur, o: [...cur.o], r: [...cur.r] }
              : { k: config.key.map((k) => list[0]!.it.record[k]), o: [], mx: -Infinity, last: now, c: 0, r: [] };
            for (const { t, v } of list) {
              add(st, t, v, ctx.sourceTime);
              st.mx = Math.max(st.mx, t);
            }
            st.last = now;
            // Sessions the key's event time has moved `gap` past are complete.
            const watermark = st.mx - config.allowed_lateness;
            const closed = st.o.filter((s) => s.e + config.gap <= watermark);
            st.o = st.o.filter((s) => s.e + config.gap > watermark);
            st.c += closed.length;
            closedTime = oldestSourceTime(closedTime, ...closed.map((s) => s.st));
            return { state: st, out: closed.map((s) => row(st, s)) };
          }),
        ),
      );
      const rows = results.flatMap((r) => r.out);
      return {
        // Rows get positions after the batch's records, so dead-letter IDs stay unique.
        items: rows.map((record, k) => ({ record, index: (ctx.size ?? items.length) + k })),
        filtered: 0,
        failures,
        aggregated: items.length - failures.length,
        ...(rows.length > 0 && closedTime ? { sourceTime: closedTime } : {}),
      };
    },
    async release(now) {
      const out: Release[] = [];
      for (const key of await state!.keys(prefix)) {
        let released: SessionState['r'] = [];
        await state!.update(key, now, (cur, lastWrite) => {
          released = [];
          if (!cur) return now - lastWrite >= MARKER_TTL_MS ? { state: null } : undefined;
          const st: SessionState = { ...cur, o: [...cur.o], r: [...cur.r] };
          const due = now - st.last >= idle ? st.o : [];
          st.o = st.o.filter((s) => !due.includes(s));
          for (const s of due)
            st.r.push({
              id: `session:${deps.pipeline.name}/${deps.dataset}.${deps.index}:${key.slice(prefix.length)}:${++st.c}`,
              row: row(st, s),
              at: st.last,
              ...(s.st ? { st: s.st } : {}),
            });
          released = st.r;
          // With nothing open or pending, the entry only keeps markers: dropped once they expire.
          const drop = st.o.length === 0 && st.r.length === 0 && now - lastWrite >= MARKER_TTL_MS;
          if (due.length === 0 && !drop) return undefined;
          return { state: drop ? null : st };
        });
        for (const r of released) {
          out.push({
            id: r.id,
            items: [{ record: r.row, index: -1 }],
            filtered: 0,
            failures: [],
            ingestedAt: r.at,
            ...(r.st ? { sourceTime: r.st } : {}),
            confirm: async () => {
              await state!.update(key, Date.now(), (cur) =>
                cur && cur.r.some((x) => x.id === r.id) ? { state: { ...cur, r: cur.r.filter((x) => x.id !== r.id) } } : undefined,
              );
            },
          });
        }
      }
      return out;
    },
  };
};

/**
 * `join`: a stream-to-stream join within a time bound. The dataset reads two inputs: its records
 * (e.g. events) and the partner stream named by `with` (e.g. weather observations). A record is
 * joined with a partner of the same key whose event time is within `within` of its own:
 *
 * - a record arriving after its partners takes the nearest one (ties: the earlier partner);
 * - a record with no partner yet waits; the first partner to arrive within the bound takes it,
 *   and the joined record is published with that partner's input message;
 * - a record still waiting after `wait` (processing time) is released by the clock (`release`,
 *   run by the transformer's state sweeper) to `on_timeout`: emitted with null partner fields,
 *   dropped (filtered), or dead-lettered;
 * - partners leave this dataset (counted as filtered: they are loaded through their own dataset)
 *   and are kept `keep_partners` for records arriving later.
 *
 * State: one `trib_join` KV entry per join key holding the waiting records, the partners and
 * the released records not yet confirmed, changed only by compare-and-set (`state/keyed-state.ts`).
 * Exactly once, with redelivery and several replicas:
 * - a record and a partner of one key arriving at two replicas at once cannot both miss each
 *   other: both change the same entry, so one of the writes sees the other's record;
 * - a timeout and a partner racing for a waiting record change the same entry too: whichever
 *   writes first takes the record out of the waiting list, the other no longer sees it;
 * - outputs are stored with the input message's marker, so a redelivered message publishes the
 *   same joined records under the same IDs (`<input ID>:<dataset>`) instead of joining again;
 * - a release is recorded in the entry before it is published (ID `join-timeout:<pipeline>/
 *   <dataset>.<step>:<record ID>`) and forgotten after its PubAcks, so a crash in between publishes it again under
 *   the same ID, which JetStream or the loader's ledger drops.
 */
import type { KV } from '@nats-io/kv';
import { oldestSourceTime } from '@tributary/contract/wire';
import { STEP_SPECS } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { type Rec } from '@tributary/contract/codec';
import { KeyedState, MARKER_TTL_MS } from '../state/keyed-state';
import { stateKey } from '../state/state-key';
import type { BatchItem, Release, StepFactory, StepFailure } from './step';
import { copyRecord } from '../values/copy-record';
import { eventTime, keyValues } from '../values/time-value';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.join;

/** A record waiting for its partner. */
interface Waiting {
  /** `<input message ID>#<index>`: stable across redeliveries. */
  id: string;
  t: number;
  /** Arrival (processing time, ms): the wait is measured from it. */
  at: number;
  rec: Rec;
  src?: string;
  /** Source time of its input message. */
  st?: string;
}

/** A partner, reduced to the fields the join adds. */
interface Partner {
  id: string;
  t: number;
  at: number;
  v: Rec;
  /** Source time of its input message. */
  st?: string;
}

/** A waiting record the clock released, kept until its outputs are durable. */
interface Released {
  id: string;
  at: number;
  rec: Rec;
  src?: string;
  st?: string;
}

interface JoinState {
  w: Waiting[];
  p: Partner[];
  r: Released[];
}

/** A joined record and its position in the batch that produced it (-1: a record of another batch). */
interface Output {
  x: number;
  rec: Rec;
  /** The older source time of the record and its partner (the oldest input wins). */
  st?: string;
}

/** Creates the step. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  const where = `datasets.${deps.dataset}.steps[${deps.index}].join`;
  const recordKey = Object.keys(config.on);
  const partnerKey = Object.values(config.on);
  const partnerFields = [...new Set(Object.values(config.fields))];
  const prefix = `join.${deps.pipeline.name}.${deps.dataset}.${deps.index}.`;
  let state: KeyedState<JoinState, Output> | undefined;

  const joined = (rec: Rec, partner: Rec | undefined): Rec => {
    const out = copyRecord(rec);
    for (const [name, field] of Object.entries(config.fields)) out[name] = partner ? (partner[field] ?? null) : null;
    return out;
  };
  const empty = (s: JoinState): boolean => s.w.length === 0 && s.p.length === 0 && s.r.length === 0;
  const prunePartners = (s: JoinState, now: number): void => {
    s.p = s.p.filter((p) => now - p.at < config.keep_partners);
  };

  /** Applies one key's records of a batch, in batch order; returns the joined outputs. */
  function applyKey(
    cur: JoinState | null,
    list: { it: BatchItem; id: string; t: number; partner: boolean }[],
    now: number,
    src?: string,
    st?: string,
  ) {
    const withTime = (o: Output, t: string | undefined): Output => (t ? { ...o, st: t } : o);
    const s: JoinState = cur ? { w: [...cur.w], p: [...cur.p], r: [...cur.r] } : { w: [], p: [], r: [] };
    prunePartners(s, now);
    const out: Output[] = [];
    for (const { it, id, t, partner } of list) {
      if (partner) {
        if (s.p.some((p) => p.id === id)) continue;
        const v: Rec = {};
        for (const f of partnerFields) v[f] = it.record[f] ?? null;
        s.p.push({ id, t, at: now, v, ...(st ? { st } : {}) });
        // Waiting records within the bound take this partner, oldest first.
        s.w = s.w.filter((w) => {
          if (Math.abs(w.t - t) > config.within) return true;
          out.push(withTime({ x: -1, rec: joined(w.rec, v) }, oldestSourceTime(w.st, st)));
          return false;
        });
        continue;
      }
      // Already held or released under this ID: a redelivery whose marker expired; nothing new.
      if (s.w.some((w) => w.id === id) || s.r.some((r) => r.id === id)) continue;
      let best: Partner | undefined;
      for (const p of s.p) {
        const d = Math.abs(p.t - t);
        if (d > config.within) continue;
        if (!best || d < Math.abs(best.t - t) || (d === Math.abs(best.t - t) && p.t < best.t)) best = p;
      }
      if (best) out.push(withTime({ x: it.index, rec: joined(it.record, best.v) }, oldestSourceTime(st, best.st)));
      else s.w.push({ id, t, at: now, rec: it.record, ...(src ? { src } : {}), ...(st ? { st } : {}) });
    }
    return { state: empty(s) ? null : s, out };
  }

  /** The Release of a released record: runs on through the dataset as `on_timeout` says. */
  function toRelease(r: Released): Omit<Release, 'confirm'> {
    const base = {
      id: `join-timeout:${deps.pipeline.name}/${deps.dataset}.${deps.index}:${r.id}`,
      ingestedAt: r.at,
      ...(r.src ? { source: r.src } : {}),
      ...(r.st ? { sourceTime: r.st } : {}),
    };
    if (config.on_timeout === 'emit')
      return { ...base, items: [{ record: joined(r.rec, undefined), index: -1 }], filtered: 0, failures: [] };
    if (config.on_timeout === 'drop') return { ...base, items: [], filtered: 1, failures: [] };
    const error = new TributaryError(
      'TRIB_E_STEP',
      `${where}: no partner from "${config.with}" within ${config.wait} ms (${recordKey.map((f) => `${f} = ${JSON.stringify(r.rec[f])}`).join(', ')})`,
      {
        location: { field: recordKey[0] },
      },
    );
    return { ...base, items: [], filtered: 0, failures: [{ index: -1, record: r.rec, error }] };
  }

  return {
    kind: 'join',
    needs: ['join'],
    async open(services) {
      if (!services.join) throw new TributaryError('TRIB_E_TOPOLOGY_MISSING', `${where}: needs the trib_join KV bucket`);
      state = new KeyedState<JoinState, Output>(services.join as KV, where, (s) => ({ ...s, p: s.p.slice(Math.ceil(s.p.length / 2)) }));
    },
    async applyBatch(items, ctx) {
      const failures: StepFailure[] = [];
      const byKey = new Map<string, { it: BatchItem; id: string; t: number; partner: boolean }[]>();
      let partners = 0;
      for (const it of items) {
        const partner = it.from === config.with;
        try {
          const values = keyValues(it.record, partner ? partnerKey : recordKey, partner ? 'partner join key' : 'join key');
          const t = eventTime(it.record, partner ? config.partner_time : config.time);
          const key = stateKey('join', ctx.pipeline, ctx.dataset, deps.index, values);
          if (!byKey.has(key)) byKey.set(key, []);
          byKey.get(key)!.push({ it, id: `${ctx.inputId}#${it.index}`, t, partner });
          if (partner) partners++;
        } catch (err) {
          if (!(err instanceof TributaryError)) throw err;
          failures.push({ index: it.index, record: it.record, error: err });
        }
      }
      const now = Date.now();
      const outputs = await Promise.all(
        [...byKey].map(([key, list]) => state!.apply(key, ctx.inputId, now, (cur) => applyKey(cur, list, now, ctx.source, ctx.sourceTime))),
      );
      // Records of this batch first (in batch order), then records of earlier batches their partners released.
      const all = outputs.flatMap((o) => o.out);
      const own = all.filter((o) => o.x >= 0).sort((a, b) => a.x - b.x);
      const others = all.filter((o) => o.x < 0);
      const joinedTime = oldestSourceTime(...all.map((o) => o.st));
      // Records of other batches get positions after this batch's, so dead-letter IDs stay unique.
      return {
        items: [
          ...own.map((o) => ({ record: o.rec, index: o.x })),
          ...others.map((o, k) => ({ record: o.rec, index: (ctx.size ?? items.length) + k })),
        ],
        filtered: partners,
        failures,
        ...(joinedTime ? { sourceTime: joinedTime } : {}),
      };
    },
    async release(now) {
      const out: Release[] = [];
      for (const key of await state!.keys(prefix)) {
        let released: Released[] = [];
        await state!.update(key, now, (cur, lastWrite) => {
          released = [];
          if (!cur) return now - lastWrite >= MARKER_TTL_MS ? { state: null } : undefined;
          const s: JoinState = { w: [...cur.w], p: [...cur.p], r: [...cur.r] };
          const before = s.w.length + s.p.length;
          const due = s.w.filter((w) => now - w.at >= config.wait);
          s.w = s.w.filter((w) => now - w.at < config.wait);
          s.r.push(
            ...due.map((w): Released => ({
              id: w.id,
              at: w.at,
              rec: w.rec,
              ...(w.src ? { src: w.src } : {}),
              ...(w.st ? { st: w.st } : {}),
            })),
          );
          prunePartners(s, now);
          released = s.r;
          const changed = due.length > 0 || s.w.length + s.p.length !== before;
          // An idle entry is rewritten so its expired markers go (and the entry, once empty).
          if (!changed && now - lastWrite < MARKER_TTL_MS) return undefined;
          return { state: empty(s) ? null : s };
        });
        for (const r of released) {
          out.push({
            ...toRelease(r),
            confirm: async () => {
              await state!.update(key, Date.now(), (cur) => {
                if (!cur || !cur.r.some((x) => x.id === r.id)) return undefined;
                const s = { ...cur, r: cur.r.filter((x) => x.id !== r.id) };
                return { state: empty(s) ? null : s };
              });
            },
          });
        }
      }
      return out;
    },
  };
};

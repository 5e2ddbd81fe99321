/**
 * `dedupe`: keeps the first record per key and drops repeats (counted as filtered) within
 * `within`, across batches, replicas and restarts.
 *
 * State: one `trib_dedupe` KV entry per key, `{ owner, t }`, written with compare-and-set (create
 * when absent, update on the revision read). `owner` is `<input message ID>#<position>`, which a
 * redelivery of the same message reproduces: so when a batch is processed again after a crash,
 * its records find entries they own and are kept again (their outputs carry the same message IDs,
 * so nothing doubles downstream), while a different record with the same key is dropped. Two
 * replicas racing on one key cannot both win a compare-and-set. Deriving "first" from the stream
 * alone would need one replica to see every key in order; KV gives the same answer to all of them.
 * Entries expire with the `trib_dedupe` bucket's max age (a week, or the longest `within`).
 */
import type { KV } from '@nats-io/kv';
import { STEP_SPECS } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { castValue } from '../values/cast-value';
import { stateKey } from '../state/state-key';
import type { BatchItem, StepFactory, StepFailure } from './step';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.dedupe;

interface Entry {
  owner: string;
  t: number;
}

const CAS_ATTEMPTS = 8;

/** Creates the step. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  let kv: KV | undefined;
  const where = `datasets.${deps.dataset}.steps[${deps.index}].dedupe`;

  /** Whether the record owning `owner` is the one to keep for `key` (claiming the key if free). */
  async function claim(key: string, owner: string, t: number): Promise<boolean> {
    const value = JSON.stringify({ owner, t } satisfies Entry);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const e = await kv!.get(key);
      try {
        if (!e || e.operation !== 'PUT') {
          if (e) await kv!.update(key, value, e.revision);
          else await kv!.create(key, value);
          return true;
        }
        const cur = e.json<Entry>();
        if (cur.owner === owner) return true;
        if (t - cur.t < config.within) return false;
        await kv!.update(key, value, e.revision);
        return true;
      } catch {
        // Lost a compare-and-set race: read the winner's entry and decide again.
      }
    }
    throw new TributaryError('TRIB_E_UNAVAILABLE', `${where}: key ${key} kept changing under ${CAS_ATTEMPTS} compare-and-set attempts`);
  }

  return {
    kind: 'dedupe',
    needs: ['dedupe'],
    async open(services) {
      if (!services.dedupe) throw new TributaryError('TRIB_E_TOPOLOGY_MISSING', `${where}: needs the trib_dedupe KV bucket`);
      kv = services.dedupe;
    },
    async applyBatch(items, ctx) {
      const failures: StepFailure[] = [];
      const byKey = new Map<string, { it: BatchItem; t: number }[]>();
      const now = Date.now();
      for (const it of items) {
        try {
          const values = config.key.map((k) => it.record[k] ?? null);
          const t = config.time ? Date.parse(castValue(config.time, 'timestamp', it.record[config.time]) as string) : now;
          if (Number.isNaN(t))
            throw new TributaryError('TRIB_E_VALIDATION', `field "${config.time}" is missing`, { location: { field: config.time } });
          const key = stateKey('dedupe', ctx.pipeline, ctx.dataset, deps.index, values);
          if (!byKey.has(key)) byKey.set(key, []);
          byKey.get(key)!.push({ it, t });
        } catch (err) {
          if (!(err instanceof TributaryError)) throw err;
          failures.push({ index: it.index, record: it.record, error: err });
        }
      }
      const keep = new Set<BatchItem>();
      // Keys in parallel (bounded by the batch), records of one key in order.
      try {
        await Promise.all(
          [...byKey].map(async ([key, list]) => {
            for (const { it, t } of list) if (await claim(key, `${ctx.inputId}#${it.index}`, t)) keep.add(it);
          }),
        );
      } catch (err) {
        if (err instanceof TributaryError) throw err;
        throw new TributaryError('TRIB_E_UNAVAILABLE', `${where}: JetStream KV: ${(err as Error).message}`, { cause: err });
      }
      const kept = items.filter((it) => keep.has(it));
      return { items: kept, filtered: items.length - kept.length - failures.length, failures };
    },
  };
};

/**
 * Keeps reference datasets current in the `trib_state` KV bucket for `enrich: { from: { dataset } }`:
 * after a batch of such a dataset is transformed, each record is put under its key (the fields
 * the enrich steps look it up by), before the input is acked. Puts are idempotent, so a redelivery
 * writes the same values; the newest write wins, which is what reference data (venues, cards)
 * wants. Two replicas writing two versions of one key at the same moment may leave either: keep a
 * reference dataset's updates in order by sending them from one source.
 */
import type { KV } from '@nats-io/kv';
import type { Pipeline } from '@tributary/contract/spec';
import type { Rec } from '@tributary/contract/codec';
import { stateKey } from './state-key';

/** KV key of the reference row of `dataset` with `fields` = `values`. */
export function referenceKey(pipeline: string, dataset: string, fields: string[], values: unknown[]): string {
  // Values as text, so a lookup by "42" finds the row stored with 42 (records and types vary).
  return stateKey(
    'ref',
    pipeline,
    dataset,
    fields.join('+'),
    values.map((v) => (v === null || v === undefined ? null : String(v))),
  );
}

/** The key field lists under which each dataset must be stored, from the enrich steps that read it. */
export function referenceKeys(pipeline: Pipeline): Map<string, string[][]> {
  const out = new Map<string, string[][]>();
  for (const ds of pipeline.datasets) {
    for (const s of ds.steps) {
      if (s.kind !== 'enrich' || !('dataset' in s.config.from)) continue;
      const name = s.config.from.dataset;
      const fields = Object.values(s.config.on);
      const list = out.get(name) ?? [];
      if (!list.some((l) => l.join() === fields.join())) list.push(fields);
      out.set(name, list);
    }
  }
  return out;
}

/** Writes the records of reference datasets to KV; resolves once every put is acknowledged. */
export async function storeReferences(
  kv: KV,
  pipeline: Pipeline,
  keys: Map<string, string[][]>,
  dataset: string,
  records: Rec[],
): Promise<void> {
  const lists = keys.get(dataset);
  if (!lists) return;
  const puts: Promise<unknown>[] = [];
  for (const fields of lists) {
    // The last record per key in this batch wins, as it would have one by one.
    const last = new Map<string, Rec>();
    for (const r of records)
      last.set(
        referenceKey(
          pipeline.name,
          dataset,
          fields,
          fields.map((f) => r[f]),
        ),
        r,
      );
    for (const [k, r] of last) puts.push(kv.put(k, JSON.stringify(r)));
  }
  await Promise.all(puts);
}

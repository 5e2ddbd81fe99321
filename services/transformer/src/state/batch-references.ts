/**
 * Reference rows produced earlier in the same input batch, for `enrich: { from: { dataset } }`.
 * The reference store (reference-store.ts) writes a batch's reference rows to KV only once the
 * whole batch is transformed, so without this a CDC transaction holding a department and the staff
 * row that points to it would miss its own department. The runner runs reference datasets before
 * the datasets that enrich from them and registers their rows here with their position in the
 * source batch; `enrich` takes the latest row of its key from a position before its record's
 * (source order), and only then asks the cache and KV.
 */
import type { Rec } from '@tributary/contract/codec';
import { referenceKey } from './reference-store';

interface Entry {
  /** Position in the source batch; undefined when the rows came through other datasets (no source order). */
  position: number | undefined;
  row: Rec;
}

/** The reference rows of one input batch, by KV key. */
export class BatchReferences {
  private readonly rows = new Map<string, Entry[]>();

  constructor(
    private readonly pipeline: string,
    /** Per reference dataset, the key field lists its enrich steps look it up by (`referenceKeys`). */
    private readonly keys: ReadonlyMap<string, string[][]>,
  ) {}

  /** Registers the rows a reference dataset produced, each with its position in the source batch (if known). */
  add(dataset: string, records: readonly Rec[], positions: readonly (number | undefined)[]): void {
    for (const fields of this.keys.get(dataset) ?? []) {
      records.forEach((row, i) => {
        const k = referenceKey(
          this.pipeline,
          dataset,
          fields,
          fields.map((f) => row[f]),
        );
        const list = this.rows.get(k) ?? [];
        list.push({ position: positions[i], row });
        this.rows.set(k, list);
      });
    }
  }

  /**
   * The latest row of `dataset` whose `fields` equal `values` and that came before `position` in
   * the source batch; with either position unknown, the batch's latest row of that key.
   */
  find(dataset: string, fields: string[], values: unknown[], position?: number): Rec | undefined {
    const list = this.rows.get(referenceKey(this.pipeline, dataset, fields, values));
    if (!list) return undefined;
    let best: Entry | undefined;
    for (const e of list) {
      if (position !== undefined && e.position !== undefined && e.position >= position) continue;
      if (!best || best.position === undefined || e.position === undefined || e.position >= best.position) best = e;
    }
    return best?.row;
  }
}

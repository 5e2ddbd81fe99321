/**
 * `enrich`: adds fields from reference data looked up by key: a warehouse table (one query per
 * batch for the keys not cached) or a dataset of this pipeline that the transformer keeps current
 * in the `trib_state` KV bucket (see `state/reference-store.ts`). A dataset's rows from earlier in
 * the same input batch, in source order, come first (`state/batch-references.ts`): a CDC
 * transaction's department is there for its staff row. Rows are cached for `cache_ttl`; misses
 * of a table too, but a dataset's misses are not (KV is asked again), so a reference row that
 * arrives later is found at once. A miss is kept with null fields, dropped (filtered),
 * dead-lettered, or retried (`retry`: the batch fails as transient and the consumer loop retries
 * it with backoff, so a reference that arrives later is picked up; the pipeline waits meanwhile).
 */
import type { KV } from '@nats-io/kv';
import { ident, warehouseTable } from '@tributary/warehouse/sql';
import { STEP_SPECS } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { type Rec } from '@tributary/contract/codec';
import type { Pool } from 'pg';
import { LookupCache } from '../state/lookup-cache';
import { referenceKey } from '../state/reference-store';
import type { BatchItem, StepFactory, StepFailure } from './step';
import { copyRecord } from '../values/copy-record';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.enrich;

/** Creates the step. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  const where = `datasets.${deps.dataset}.steps[${deps.index}].enrich`;
  const recordFields = Object.keys(config.on);
  const refFields = Object.values(config.on);
  const cache = new LookupCache<Rec>(config.cache_ttl, config.cache_size);
  let kv: KV | undefined;
  let db: Pool | undefined;
  const fromTable = 'table' in config.from ? config.from.table : undefined;
  const fromDataset = 'dataset' in config.from ? config.from.dataset : undefined;
  const selectCols = [...new Set([...refFields, ...Object.values(config.fields)])].map(ident).join(', ');

  /**
   * Looks up keys not in the cache, filling it with the rows found (and, from a table, the misses);
   * resolves to what this batch found, null for a miss.
   */
  async function fetch(keys: Map<string, unknown[]>): Promise<Map<string, Rec | null>> {
    const fetched = new Map<string, Rec | null>();
    if (keys.size === 0) return fetched;
    if (fromTable) {
      // One round trip per batch: a VALUES list joined on the key columns (text comparison, so
      // numbers and strings in records match the table whatever its column types).
      const params: unknown[] = [];
      const rows = [...keys.values()].map((vals) => `(${vals.map((v) => `$${params.push(v === null ? null : String(v))}`).join(', ')})`);
      const on = refFields.map((f, i) => `t.${ident(f)}::text = k.c${i}`).join(' AND ');
      const sql = `SELECT ${selectCols
        .split(', ')
        .map((c) => `t.${c}`)
        .join(', ')} FROM ${warehouseTable(fromTable)} t
        JOIN (VALUES ${rows.join(', ')}) AS k(${refFields.map((_, i) => `c${i}`).join(', ')}) ON ${on}`;
      let result;
      try {
        result = await db!.query<Rec>(sql, params);
      } catch (err) {
        throw new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', `${where}: lookup in ${fromTable} failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      const found = new Map(result.rows.map((r) => [JSON.stringify(refFields.map((f) => (r[f] === null ? null : String(r[f])))), r]));
      for (const [k, vals] of keys) {
        const row = found.get(JSON.stringify(vals.map((v) => (v === null ? null : String(v))))) ?? null;
        cache.set(k, row);
        fetched.set(k, row);
      }
      return fetched;
    }
    try {
      await Promise.all(
        [...keys].map(async ([k, vals]) => {
          const e = await kv!.get(referenceKey(deps.pipeline.name, fromDataset!, refFields, vals));
          const row = e && e.operation === 'PUT' ? e.json<Rec>() : null;
          // A miss is not cached: the row may be stored a moment later (the next batch of its source).
          if (row) cache.set(k, row);
          fetched.set(k, row);
        }),
      );
    } catch (err) {
      throw new TributaryError('TRIB_E_UNAVAILABLE', `${where}: JetStream KV: ${(err as Error).message}`, { cause: err });
    }
    return fetched;
  }

  return {
    kind: 'enrich',
    needs: fromTable ? ['db'] : ['state'],
    async open(services) {
      kv = services.state;
      db = services.db;
      if (fromTable ? !db : !kv) {
        throw new TributaryError(
          'TRIB_E_CONFIG',
          `${where}: needs ${fromTable ? 'the warehouse (DATABASE_URL)' : 'the trib_state KV bucket'}`,
        );
      }
    },
    async applyBatch(items, ctx) {
      const keyOf = (r: Rec): string => JSON.stringify(recordFields.map((f) => r[f] ?? null));
      const valuesOf = (r: Rec): unknown[] => recordFields.map((f) => r[f] ?? null);
      // A reference dataset's row from earlier in this batch (source order), before cache and KV.
      const inBatch = (it: BatchItem): Rec | undefined =>
        fromDataset === undefined
          ? undefined
          : ctx?.references?.find(fromDataset, refFields, valuesOf(it.record), ctx.sourceOrder ? it.index : undefined);
      const now = Date.now();
      const missing = new Map<string, unknown[]>();
      for (const it of items) {
        const k = keyOf(it.record);
        if (!missing.has(k) && cache.get(k, now) === undefined) missing.set(k, valuesOf(it.record));
      }
      const fetched = await fetch(missing);
      const out: BatchItem[] = [];
      const failures: StepFailure[] = [];
      let filtered = 0;
      for (const it of items) {
        const k = keyOf(it.record);
        // Not re-read from the clock: a row fetched for this batch counts as fresh for all of it.
        const own = inBatch(it);
        // The newest row of the key from now on (it reaches KV once this batch is transformed).
        if (own) cache.set(k, own, now);
        const ref = own ?? (fetched.has(k) ? fetched.get(k)! : cache.get(k, now)) ?? null;
        if (ref === null && config.on_miss !== 'keep') {
          if (config.on_miss === 'drop') filtered++;
          else if (config.on_miss === 'dead_letter') {
            failures.push({
              index: it.index,
              record: it.record,
              error: new TributaryError('TRIB_E_VALIDATION', `${where}: no reference row for ${recordFields.join(', ')} = ${k}`, {
                location: { field: recordFields[0] },
              }),
            });
          } else {
            throw new TributaryError('TRIB_E_UNAVAILABLE', `${where}: no reference row for ${k} yet (on_miss: retry)`);
          }
          continue;
        }
        const rec = copyRecord(it.record);
        for (const [name, field] of Object.entries(config.fields)) rec[name] = ref ? (ref[field] ?? null) : null;
        out.push({ record: rec, index: it.index });
      }
      return { items: out, filtered, failures };
    },
  };
};

/**
 * `enrich`: adds fields from reference data looked up by key: a warehouse table (one query per
 * batch for the keys not cached) or a dataset of this pipeline that the transformer keeps current
 * in the `trib_state` KV bucket (see `state/reference-store.ts`). Rows and misses are cached for
 * `cache_ttl`. A miss is kept with null fields, dropped (filtered), dead-lettered, or retried
 * (`retry`: the batch fails as transient and the consumer loop retries it with backoff, so a
 * reference that arrives later is picked up; the pipeline waits meanwhile).
 */
import type { KV } from '@nats-io/kv';
import { ident, warehouseTable } from '@tributary/warehouse';
import { STEP_SPECS, TributaryError, type Rec } from '@tributary/contract';
import type { Pool } from 'pg';
import { LookupCache } from '../state/lookup-cache';
import { referenceKey } from '../state/reference-store';
import type { BatchItem, StepFactory, StepFailure } from './step';

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

  /** Looks up keys not in the cache, filling it (a missing row is cached as a miss). */
  async function fetch(keys: Map<string, unknown[]>): Promise<void> {
    if (keys.size === 0) return;
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
      for (const [k, vals] of keys) cache.set(k, found.get(JSON.stringify(vals.map((v) => (v === null ? null : String(v))))) ?? null);
      return;
    }
    try {
      await Promise.all(
        [...keys].map(async ([k, vals]) => {
          const e = await kv!.get(referenceKey(deps.pipeline.name, fromDataset!, refFields, vals));
          cache.set(k, e && e.operation === 'PUT' ? e.json<Rec>() : null);
        }),
      );
    } catch (err) {
      throw new TributaryError('TRIB_E_UNAVAILABLE', `${where}: JetStream KV: ${(err as Error).message}`, { cause: err });
    }
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
    async applyBatch(items) {
      const keyOf = (r: Rec): string => JSON.stringify(recordFields.map((f) => r[f] ?? null));
      const now = Date.now();
      const missing = new Map<string, unknown[]>();
      for (const it of items) {
        const k = keyOf(it.record);
        if (cache.get(k, now) === undefined)
          missing.set(
            k,
            recordFields.map((f) => it.record[f] ?? null),
          );
      }
      await fetch(missing);
      const out: BatchItem[] = [];
      const failures: StepFailure[] = [];
      let filtered = 0;
      for (const it of items) {
        const k = keyOf(it.record);
        // Not re-read from the clock: a row fetched for this batch counts as fresh for all of it.
        const ref = cache.get(k, now) ?? null;
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
        const rec = { ...it.record };
        for (const [name, field] of Object.entries(config.fields)) rec[name] = ref ? (ref[field] ?? null) : null;
        out.push({ record: rec, index: it.index });
      }
      return { items: out, filtered, failures };
    },
  };
};

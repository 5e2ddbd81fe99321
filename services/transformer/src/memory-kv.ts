/**
 * The few JetStream KV calls the steps use (get, create, update, put), in memory, for
 * `--dry-run`: a sample file runs through `dedupe` and `enrich` without a NATS server.
 * Same compare-and-set rules as KV: create fails on a live key, update on a stale revision.
 */
import type { KV } from '@nats-io/kv';

interface Entry {
  value: string;
  revision: number;
}

/** An in-memory stand-in for a KV bucket (dry runs only). */
export function memoryKv(): KV {
  const map = new Map<string, Entry>();
  let rev = 0;
  const view = (e: Entry | undefined) =>
    e && { revision: e.revision, operation: 'PUT', json: <T>() => JSON.parse(e.value) as T, string: () => e.value };
  return {
    get: async (k: string) => view(map.get(k)) ?? null,
    create: async (k: string, v: string) => {
      if (map.has(k)) throw new Error('wrong last sequence: key exists');
      map.set(k, { value: String(v), revision: ++rev });
      return rev;
    },
    update: async (k: string, v: string, revision: number) => {
      if (map.get(k)?.revision !== revision) throw new Error('wrong last sequence');
      map.set(k, { value: String(v), revision: ++rev });
      return rev;
    },
    put: async (k: string, v: string) => {
      map.set(k, { value: String(v), revision: ++rev });
      return rev;
    },
  } as unknown as KV;
}

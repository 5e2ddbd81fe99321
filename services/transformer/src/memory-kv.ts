/**
 * The few JetStream KV calls the steps use (get, create, update, put, delete, keys), in memory, for
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
    delete: async (k: string, opts?: { previousSeq?: number }) => {
      if (opts?.previousSeq !== undefined && map.get(k)?.revision !== opts.previousSeq) throw new Error('wrong last sequence');
      map.delete(k);
    },
    keys: async (filter = '>') => {
      const prefix = filter.endsWith('>') ? filter.slice(0, -1) : filter;
      return (async function* () {
        yield* [...map.keys()].filter((k) => (filter.endsWith('>') ? k.startsWith(prefix) : k === filter));
      })();
    },
  } as unknown as KV;
}

/**
 * A KV bucket seen through a private, in-memory overlay, for previews (dry runs of DLQ fixes): reads
 * see the real bucket (so `dedupe` knows the keys already kept and `enrich` finds reference data)
 * plus what the preview itself wrote; writes and deletes stay in the overlay and are forgotten
 * with it. Same compare-and-set rules as KV: create fails on a live key, update and delete on a
 * stale revision. Only the calls the steps make (get, create, update, put, delete, keys).
 */
import type { KV } from '@nats-io/kv';

interface Entry {
  value: string;
  revision: number;
}

/** Revisions of overlay writes start far above the real bucket's, so the two never collide. */
const FIRST_OVERLAY_REVISION = 2 ** 40;

/** `base` (absent: an empty bucket) with a private overlay. */
export function overlayKv(base: KV | undefined): KV {
  const own = new Map<string, Entry | null>(); // null: deleted in the overlay
  let rev = FIRST_OVERLAY_REVISION;
  const read = async (k: string): Promise<Entry | null> => {
    if (own.has(k)) return own.get(k) ?? null;
    const e = await base?.get(k);
    return e && e.operation === 'PUT' ? { value: e.string(), revision: e.revision } : null;
  };
  const view = (e: Entry | null) =>
    e && { key: '', revision: e.revision, operation: 'PUT', json: <T>() => JSON.parse(e.value) as T, string: () => e.value };
  const write = (k: string, v: unknown): number => {
    own.set(k, { value: typeof v === 'string' ? v : Buffer.from(v as Uint8Array).toString('utf8'), revision: ++rev });
    return rev;
  };
  return {
    get: async (k: string) => view(await read(k)),
    create: async (k: string, v: string) => {
      if (await read(k)) throw new Error('wrong last sequence: key exists');
      return write(k, v);
    },
    update: async (k: string, v: string, revision: number) => {
      if ((await read(k))?.revision !== revision) throw new Error('wrong last sequence');
      return write(k, v);
    },
    put: async (k: string, v: string) => write(k, v),
    delete: async (k: string, opts?: { previousSeq?: number }) => {
      if (opts?.previousSeq !== undefined && (await read(k))?.revision !== opts.previousSeq) throw new Error('wrong last sequence');
      own.set(k, null);
    },
    keys: async (filter = '>') => {
      const prefix = filter.endsWith('>') ? filter.slice(0, -1) : filter;
      const match = (k: string): boolean => (filter.endsWith('>') ? k.startsWith(prefix) : k === filter);
      const seen = new Set<string>();
      if (base) for await (const k of await base.keys(filter)) if (own.get(k) !== null) seen.add(k);
      for (const [k, e] of own) if (e && match(k)) seen.add(k);
      return (async function* () {
        yield* seen;
      })();
    },
  } as unknown as KV;
}

/**
 * A small TTL + LRU cache for reference lookups (`enrich`). A Map keeps insertion order, so the
 * oldest entry is the first key; a hit re-inserts to keep the most recently used last.
 * Hand-written because it is twenty lines and the reference rows need no other features.
 */

/** Cached values (including misses, as `null`) for at most `ttlMs`, at most `size` of them. */
export class LookupCache<V> {
  private readonly map = new Map<string, { v: V | null; at: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly size: number,
  ) {}

  /** The cached value (null: a cached miss), or undefined when absent or expired. */
  get(key: string, now = Date.now()): V | null | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    if (now - e.at >= this.ttlMs) return undefined;
    this.map.set(key, e);
    return e.v;
  }

  /** Stores a value or a miss. */
  set(key: string, v: V | null, now = Date.now()): void {
    if (this.size === 0) return;
    this.map.delete(key);
    this.map.set(key, { v, at: now });
    while (this.map.size > this.size) this.map.delete(this.map.keys().next().value!);
  }
}

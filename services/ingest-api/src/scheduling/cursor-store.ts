/**
 * Pull-source cursors in the JetStream KV bucket `trib_cursors`, one key per source
 * (`cursor.<pipeline>.<source>`) plus optional sub-keys (`cursor.<pipeline>.<source>.<sub>`; keys in
 * `@tributary/runtime`'s source-state.ts, which the CLI's `offsets` command reads too).
 * Writes are compare-and-set against the revision this store last saw, so a replica that lost
 * its lease (and still thinks it runs the source) cannot move a cursor backwards or sideways.
 */
import type { KV } from '@nats-io/kv';
import { TributaryError } from '@tributary/contract/errors';
import { cursorKey } from '@tributary/runtime/nats';
import type { CursorStore } from './pull-contract';

export { cursorKey };

/** A CursorStore for one source, backed by KV with compare-and-set writes. */
export class KvCursorStore implements CursorStore {
  /** Last revision seen per key (0: known to be absent). */
  private readonly revisions = new Map<string, number>();

  constructor(
    private readonly kv: KV,
    private readonly pipeline: string,
    private readonly source: string,
  ) {}

  /** The committed value, or undefined when none was committed (or it was deleted). */
  async get<T = unknown>(sub?: string): Promise<T | undefined> {
    const key = cursorKey(this.pipeline, this.source, sub);
    const e = await this.kv.get(key);
    this.revisions.set(key, e?.revision ?? 0);
    if (!e || e.operation !== 'PUT' || e.length === 0) return undefined;
    return e.json<T>();
  }

  /** Commits `value`; throws TRIB_E_UNAVAILABLE when another writer changed the key since we last saw it. */
  async commit<T = unknown>(value: T, sub?: string): Promise<void> {
    const key = cursorKey(this.pipeline, this.source, sub);
    if (!this.revisions.has(key)) await this.get(sub);
    const rev = this.revisions.get(key)!;
    const data = JSON.stringify(value);
    try {
      this.revisions.set(key, rev === 0 ? await this.kv.create(key, data) : await this.kv.update(key, data, rev));
    } catch (err) {
      // Forget the revision: the next get() re-reads what the other writer committed.
      this.revisions.delete(key);
      throw new TributaryError(
        'TRIB_E_UNAVAILABLE',
        `cursor ${key} was not committed: it changed meanwhile (lease lost?) or KV is unavailable`,
        {
          cause: err,
        },
      );
    }
  }
}

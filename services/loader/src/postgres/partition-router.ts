/**
 * Before a partitioned table's merge: finds the intervals the staged rows fall into (in SQL, so
 * PostgreSQL's own timestamp parsing decides, exactly as it will route the rows) and creates the
 * partitions that do not exist yet, in the load's transaction (core `ensurePartitions`: advisory
 * lock, rows already in DEFAULT moved). Partitions known to exist are cached in memory; one created
 * by this process joins the cache only when its transaction commits, so a rollback never leaves the
 * cache claiming a partition that is not there.
 *
 * Never created: partitions already past retention (their rows go to DEFAULT, and retention archives
 * them from there). A database role that may not create partitions (42501) is tolerated: rows go to
 * DEFAULT and a later `migrate` or retention round by the owner moves them into place.
 */
import { ensurePartitions, expired, isoDay, parseIsoDay, bucketsSql, type PartitionLayout } from '@tributary/warehouse/partitions';
import { TributaryError } from '@tributary/contract/errors';
import { type Table } from '@tributary/contract/spec';
import type { Logger } from '@tributary/runtime/logger';
import type { PoolClient } from 'pg';

/** How long the router leaves partitions to DEFAULT after the database refused it the right to create them. */
const DENIED_BACKOFF_MS = 5 * 60_000;

/** Creates the partitions of one table's staged rows on demand. */
export class PartitionRouter {
  private readonly known = new Set<string>();
  /** Partitions made or seen by a transaction still open on that connection. */
  private readonly pending = new WeakMap<PoolClient, Set<string>>();
  private readonly bucketsSql: string;
  private deniedUntil = 0;

  constructor(
    private readonly table: Table,
    private readonly layout: PartitionLayout,
    staging: string,
    private readonly logger?: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.bucketsSql = bucketsSql(layout, staging);
  }

  /** Makes sure the partitions of the rows in the staging table exist, in the open transaction of `client`. */
  async ensure(client: PoolClient): Promise<void> {
    const r = await client.query<{ b: string }>(this.bucketsSql);
    const pending = this.pending.get(client);
    const now = this.now();
    const need: Date[] = [];
    for (const { b } of r.rows) {
      if (this.known.has(b) || pending?.has(b)) continue;
      const start = parseIsoDay(b); // undefined for years beyond 9999: DEFAULT takes those rows
      if (start && !expired(this.layout, start, now)) need.push(start);
    }
    if (need.length === 0 || now < this.deniedUntil) return;
    await client.query('SAVEPOINT trib_partitions');
    try {
      const created = await ensurePartitions(client, this.table, this.layout, need);
      await client.query('RELEASE SAVEPOINT trib_partitions');
      if (created.length > 0) this.logger?.info({ table: this.table.name, created }, 'created partitions');
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT trib_partitions');
      if ((err as { code?: string }).code === '42501') {
        this.deniedUntil = now + DENIED_BACKOFF_MS;
        this.logger?.warn(
          { table: this.table.name, err },
          'not allowed to create partitions (the loader role must own the table): rows go to the DEFAULT partition until migrate creates them',
        );
        return;
      }
      // Never the data's fault: retried, not dead-lettered.
      throw new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', `creating partitions of ${this.table.name}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const set = pending ?? new Set<string>();
    for (const s of need) set.add(isoDay(s));
    this.pending.set(client, set);
  }

  /** The transaction on `client` committed: what it made or saw exists for good. */
  committed(client: PoolClient): void {
    for (const b of this.pending.get(client) ?? []) this.known.add(b);
    this.pending.delete(client);
  }

  /** The transaction (or a savepoint) on `client` rolled back: forget what it made. */
  discard(client: PoolClient): void {
    this.pending.delete(client);
  }
}

/**
 * Replication-slot lag of every `postgres_cdc` source, read by the monitor from the source
 * database itself: the ingest-api's own gauge disappears exactly when WAL piles up (the ingest-api
 * is down), so the monitor asks PostgreSQL directly. Bytes: WAL the server keeps for the slot
 * (current WAL position minus the slot's confirmed flush position). Age: how long the slot has not
 * advanced while WAL was pending behind it (0 while it keeps up), from this monitor's own
 * observations (a restarted monitor starts counting again).
 */
import { cdcSlotName, resolveSecret, type Pipeline } from '@tributary/contract/spec';
import { withDatabaseUser } from '@tributary/runtime/env-config';
import { type Logger } from '@tributary/runtime/logger';
import { Client } from 'pg';
import type { SlotLag } from '@tributary/contract/monitor-api';
export type { SlotLag } from '@tributary/contract/monitor-api';

interface Observed {
  confirmed: string;
  /** When `confirmed` was first seen with WAL pending behind it. */
  since: number;
}

/** Reads slot lag per pipeline; one short connection per source database and read. */
export class SourceSlots {
  private readonly seen = new Map<string, Observed>();

  constructor(
    private readonly pipelines: readonly Pipeline[],
    private readonly logger: Logger,
  ) {}

  /** Whether any pipeline has a `postgres_cdc` source. */
  get any(): boolean {
    return this.pipelines.some((p) => Object.values(p.sources).some((s) => s.kind === 'postgres_cdc'));
  }

  /** Lag of every CDC source, by pipeline (pipelines without one are absent). */
  async read(now = Date.now()): Promise<Map<string, SlotLag[]>> {
    const out = new Map<string, SlotLag[]>();
    await Promise.all(
      this.pipelines.flatMap((p) =>
        Object.entries(p.sources).flatMap(([name, s]) => {
          if (s.kind !== 'postgres_cdc') return [];
          const slot = cdcSlotName(p.name, name, s.slot);
          return [
            this.readSlot(p, s.connection, slot, now).then((lag) => {
              const list = out.get(p.name) ?? [];
              list.push({ source: name, slot, ...lag });
              out.set(p.name, list);
            }),
          ];
        }),
      ),
    );
    for (const list of out.values()) list.sort((a, b) => a.source.localeCompare(b.source));
    return out;
  }

  private async readSlot(pipeline: Pipeline, connection: string, slot: string, now: number): Promise<Omit<SlotLag, 'source' | 'slot'>> {
    const key = `${pipeline.name}/${slot}`;
    let client: Client | undefined;
    try {
      const conn = pipeline.connections[connection];
      if (!conn || conn.kind !== 'postgres') throw new Error(`connection "${connection}" is not a postgres connection`);
      client = new Client({
        connectionString: withDatabaseUser(resolveSecret(conn.url)),
        connectionTimeoutMillis: 5_000,
        application_name: 'tributary-monitor',
      });
      client.on('error', () => undefined);
      await client.connect();
      const r = await client.query<{ bytes: string | null; confirmed: string | null; active: boolean }>(
        `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS bytes, confirmed_flush_lsn::text AS confirmed, active
           FROM pg_replication_slots WHERE slot_name = $1`,
        [slot],
      );
      const row = r.rows[0];
      if (!row)
        return { lag_bytes: null, lag_seconds: null, active: null, error: 'no such replication slot (not created yet, or dropped)' };
      const bytes = Math.max(0, Number(row.bytes ?? 0));
      const confirmed = row.confirmed ?? '';
      const prev = this.seen.get(key);
      // The slot is behind and has not moved since it was first seen behind: that is the age.
      const since = bytes > 0 ? (prev && prev.confirmed === confirmed ? prev.since : now) : now;
      this.seen.set(key, { confirmed, since });
      return { lag_bytes: bytes, lag_seconds: (now - since) / 1000, active: row.active };
    } catch (err) {
      this.logger.warn({ err, pipeline: pipeline.name, slot }, 'cannot read replication slot lag from the source database');
      return { lag_bytes: null, lag_seconds: null, active: null, error: (err as Error).message.slice(0, 300) };
    } finally {
      await client?.end().catch(() => undefined);
    }
  }
}

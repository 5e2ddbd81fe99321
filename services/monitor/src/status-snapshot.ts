/**
 * One consistent view of every pipeline's status, shared by `/api` and `/metrics`: reused for
 * `MONITOR_REFRESH`, and concurrent callers share one computation in flight.
 */
import type { Pipeline } from '@tributary/contract';
import type { Pool } from 'pg';
import type { ConsumerLag, LagReport } from './consumer-lag';
import type { FoldedStream } from './folded-message';
import { buildPipelineStatus, type PipelineStatus } from './pipeline-status';
import type { SlotLag } from './source-slots';
import { queryStatusCounts } from './status-counts';

/** Status of all pipelines at one moment. */
export interface StatusSnapshot {
  /** When it was taken (epoch ms). */
  takenAt: number;
  pipelines: PipelineStatus[];
  /** Lag of the monitor's own fold consumers: counts include every message once this is 0. */
  monitorLag: Record<FoldedStream, ConsumerLag>;
}

/** Inputs of the snapshot source. */
export interface StatusSnapshotsOptions {
  pipelines: readonly Pipeline[];
  pool: Pool;
  readLag: () => Promise<LagReport>;
  /** Replication-slot lag of CDC sources, by pipeline (absent: not read). */
  readSlots?: () => Promise<Map<string, SlotLag[]>>;
  refreshMs: number;
}

/** Takes and caches status snapshots. */
export class StatusSnapshots {
  private last: StatusSnapshot | undefined;
  private inFlight: Promise<StatusSnapshot> | undefined;

  constructor(private readonly opts: StatusSnapshotsOptions) {}

  /** The latest snapshot, taking a new one when the cached one is older than the refresh period. */
  get(): Promise<StatusSnapshot> {
    if (this.last && Date.now() - this.last.takenAt < this.opts.refreshMs) return Promise.resolve(this.last);
    this.inFlight ??= this.take().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async take(): Promise<StatusSnapshot> {
    // Lag first, counts second: when the fold consumers report nothing pending, every message
    // they had was committed before the counts are read, so "monitor_lag 0" means complete counts.
    const takenAt = Date.now();
    const [lag, slots] = await Promise.all([this.opts.readLag(), this.opts.readSlots?.()]);
    const counts = await queryStatusCounts(
      this.opts.pool,
      this.opts.pipelines.map((p) => p.name),
    );
    const pipelines = this.opts.pipelines.map((p) => {
      const status = buildPipelineStatus(p, counts, lag.pipelines.get(p.name)!, Date.now());
      const s = slots?.get(p.name);
      return s ? { ...status, source_slots: s } : status;
    });
    const snapshot: StatusSnapshot = { takenAt, pipelines, monitorLag: lag.monitor };
    this.last = snapshot;
    return snapshot;
  }
}

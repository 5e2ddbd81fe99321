/**
 * One consistent view of every pipeline's status, shared by `/api` and `/metrics`: reused for
 * `MONITOR_REFRESH`, and concurrent callers share one computation in flight.
 */
import type { Pipeline } from '@tributary/contract/spec';
import type { Pool } from 'pg';
import type { ConsumerLag, LagReport } from './consumer-lag';
import type { FoldedStream } from '../fold/folded-message';
import { buildPipelineStatus, type PipelineStatus } from './pipeline-status';
import type { SlotLag } from '../sources/source-slots';
import type { SourceRunView } from '../sources/source-runs';
import { queryStatusCounts } from './status-counts';
import type { DriftView, PipelinePauseView, SourceConsistency } from '@tributary/contract/monitor-api';

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
  /** The pull sources' runs of every pipeline (absent: not shown). */
  sourceRuns?: (now: number) => Promise<Map<string, SourceRunView[]>>;
  /** The pause of every paused pipeline (absent: not shown). */
  readPauses?: () => Promise<Map<string, PipelinePauseView>>;
  /** Schema drift of every pipeline (fold/drift-fold.ts; absent: none shown). */
  readDrift?: () => Promise<Map<string, DriftView[]>>;
  /** How far each CDC source's transactions are loaded (sources/source-consistency.ts; absent: not shown). */
  readConsistency?: () => Promise<Map<string, SourceConsistency[]>>;
}

/**
 * Whether a change-data-capture pipeline has loaded everything its source committed: all of its
 * sources are `postgres_cdc`, nothing accepted waits to be loaded beyond the SLA, and every slot
 * was read and has not been stuck behind the source's WAL for longer than the SLA. Then a quiet
 * source is not a stale one: its newest change may be hours old and the warehouse still current.
 */
export function cdcCaughtUp(p: Pipeline, status: PipelineStatus, slots: readonly SlotLag[] | undefined): boolean {
  const sla = status.sla.freshness_seconds;
  return (
    Object.values(p.sources).every((s) => s.kind === 'postgres_cdc') &&
    status.freshness_seconds <= sla &&
    slots !== undefined &&
    slots.length === Object.keys(p.sources).length &&
    slots.every((x) => x.lag_seconds !== null && x.lag_seconds <= sla)
  );
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
    const drift = await this.opts.readDrift?.();
    const consistency = await this.opts.readConsistency?.();
    const now = Date.now();
    // KV unavailable: the counts still show, without the source runs.
    const runs = await this.opts.sourceRuns?.(now).catch(() => undefined);
    const pauses = await this.opts.readPauses?.().catch(() => undefined);
    const pipelines = this.opts.pipelines.map((p) => {
      const built = { ...buildPipelineStatus(p, counts, lag.pipelines.get(p.name)!, now), drift: drift?.get(p.name) ?? [] };
      const s = slots?.get(p.name);
      let status: PipelineStatus = s ? { ...built, source_slots: s } : built;
      if (pauses) status = { ...status, paused: pauses.get(p.name) ?? null };
      const c = consistency?.get(p.name);
      if (c) status = { ...status, source_consistency: c };
      // Source freshness measures how far the warehouse is behind its sources: none, when caught up.
      if (status.source_freshness_seconds !== null && cdcCaughtUp(p, status, s))
        status = { ...status, source_freshness_seconds: 0, fresh: true };
      const own = runs?.get(p.name);
      if (!own || own.length === 0) return status;
      const stale = own.filter((r) => r.stale).map((r) => r.source);
      // Caught-up loading proves nothing when the sources read nothing new: then not fresh.
      return { ...status, fresh: status.fresh && stale.length === 0, source_runs: own, stale_sources: stale };
    });
    const snapshot: StatusSnapshot = { takenAt, pipelines, monitorLag: lag.monitor };
    this.last = snapshot;
    return snapshot;
  }
}

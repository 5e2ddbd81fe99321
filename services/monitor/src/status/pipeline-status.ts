/**
 * The status of a pipeline as `/api/pipelines` returns it, assembled from durable sums (stream
 * log, load ledger) and consumer lag. Pure, so its arithmetic is unit-tested.
 */
import { sourceTimeMs } from '@tributary/contract/wire';
import { type Pipeline } from '@tributary/contract/spec';
import type { StageLag } from './consumer-lag';
import type { LedgerSum, StatusCounts, StreamLogSum } from './status-counts';
import type { DatasetCounts, DeadLetteredCounts, PipelineStatus, SourceCounts, TableCounts } from '@tributary/contract/monitor-api';
export type { DatasetCounts, DeadLetteredCounts, PipelineStatus, SourceCounts, TableCounts } from '@tributary/contract/monitor-api';

function entry<T>(map: Record<string, T>, key: string, init: () => T): T {
  if (!Object.hasOwn(map, key)) map[key] = init();
  return map[key]!;
}

const maxOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));
const minOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

/**
 * Freshness in seconds: newest accepted ingest time minus newest loaded ingest time, floored at 0;
 * 0 when nothing was accepted or the pipeline has no tables. Before anything is loaded it is the
 * age of the oldest accepted record (how long data has waited), so a stuck first load alerts.
 */
export function freshnessSeconds(
  accepted: { maxMs: number | null; minMs: number | null },
  loadedMaxMs: number | null,
  hasTables: boolean,
  nowMs: number,
): number {
  if (!hasTables || accepted.maxMs === null) return 0;
  const gapMs = loadedMaxMs === null ? nowMs - (accepted.minMs ?? accepted.maxMs) : accepted.maxMs - loadedMaxMs;
  return Math.max(0, gapMs) / 1000;
}

/** Builds the status of one pipeline from the sums of all pipelines. */
export function buildPipelineStatus(pipeline: Pipeline, counts: StatusCounts, lag: StageLag, nowMs: number): PipelineStatus {
  const log = counts.streamLog.filter((r) => r.pipeline === pipeline.name);
  const ledger = counts.ledger.filter((r) => r.pipeline === pipeline.name);

  const sources: Record<string, SourceCounts> = {};
  const newSource = (): SourceCounts => ({ accepted: 0, rejected: 0, replayed: 0 });
  for (const name of Object.keys(pipeline.sources)) sources[name] = newSource();
  const datasets: Record<string, DatasetCounts> = {};
  for (const d of pipeline.datasets) datasets[d.name] = { records: 0, filtered: 0, dead_lettered: 0 };
  const dead: DeadLetteredCounts = { ingest: 0, transform: 0, load: 0, total: 0 };
  const loadDeadByDataset = new Map<string, number>();
  let accepted = 0;
  let replayed = 0;
  let filtered = 0;
  const acceptedTimes = { maxMs: null as number | null, minMs: null as number | null };

  const fold = (r: StreamLogSum): void => {
    if (r.replay && (r.stream === 'raw' || r.stream === 'processed')) replayed += r.records;
    if (r.stream === 'raw' && r.replay) {
      entry(sources, r.name, newSource).replayed += r.records;
    } else if (r.stream === 'raw') {
      accepted += r.records;
      entry(sources, r.name, newSource).accepted += r.records;
      acceptedTimes.maxMs = maxOf(acceptedTimes.maxMs, r.maxIngestedMs);
      acceptedTimes.minMs = minOf(acceptedTimes.minMs, r.minIngestedMs);
    } else if (r.stream === 'processed') {
      // Each record once: what a dataset filtered because another dataset took it is not filtered here.
      filtered += r.filtered - r.routed;
      const d = entry(datasets, r.name, () => ({ records: 0, filtered: 0, dead_lettered: 0 }));
      d.records += r.records;
      d.filtered += r.filtered;
    } else if (r.stream === 'dlq') {
      dead.total += r.records;
      if (r.stage === 'ingest') {
        dead.ingest += r.records;
        entry(sources, r.name, newSource).rejected += r.records;
      } else if (r.stage === 'transform') {
        dead.transform += r.records;
        // A whole raw batch dead-lettered by the transformer is named after its source, not a dataset.
        if (!Object.hasOwn(pipeline.sources, r.name)) {
          entry(datasets, r.name, () => ({ records: 0, filtered: 0, dead_lettered: 0 })).dead_lettered += r.records;
        }
      } else if (r.stage === 'load') {
        dead.load += r.records;
        loadDeadByDataset.set(r.name, (loadDeadByDataset.get(r.name) ?? 0) + r.records);
      }
    }
  };
  log.forEach(fold);

  const tables: Record<string, TableCounts> = {};
  const tableDataset = new Map(pipeline.tables.map((t) => [t.name, t.from]));
  const blank = (): TableCounts => ({
    loaded: 0,
    written: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    dead_lettered: 0,
    newest_ingested_at: null,
    last_loaded_at: null,
    newest_source_time: null,
    source_freshness_seconds: null,
  });
  for (const t of pipeline.tables) tables[t.name] = blank();
  // Canonical source times compare as strings.
  let newestSource: string | null = null;
  const ageSeconds = (t: string): number => Math.max(0, nowMs - sourceTimeMs(t)) / 1000;
  let loadedMaxMs: number | null = null;
  let lastLoaded: Date | null = null;
  for (const r of ledger as LedgerSum[]) {
    const t = entry(tables, r.table, blank);
    t.loaded += r.records;
    t.written += r.written;
    t.inserted += r.inserted;
    t.updated += r.updated;
    t.unchanged += r.unchanged;
    t.skipped += r.skipped;
    if (r.maxIngestedMs !== null) t.newest_ingested_at = new Date(r.maxIngestedMs).toISOString();
    if (r.lastLoadedAt) t.last_loaded_at = r.lastLoadedAt.toISOString();
    if (r.maxSourceTime) {
      t.newest_source_time = r.maxSourceTime;
      t.source_freshness_seconds = ageSeconds(r.maxSourceTime);
      if (newestSource === null || r.maxSourceTime > newestSource) newestSource = r.maxSourceTime;
    }
    loadedMaxMs = maxOf(loadedMaxMs, r.maxIngestedMs);
    if (r.lastLoadedAt && (!lastLoaded || r.lastLoadedAt > lastLoaded)) lastLoaded = r.lastLoadedAt;
  }
  for (const [name, t] of Object.entries(tables)) {
    const ds = tableDataset.get(name);
    if (ds !== undefined) t.dead_lettered = loadDeadByDataset.get(ds) ?? 0;
  }

  const freshness = freshnessSeconds(acceptedTimes, loadedMaxMs, pipeline.tables.length > 0, nowMs);
  const sla = pipeline.slaFreshnessMs / 1000;
  return {
    name: pipeline.name,
    sla: { freshness_seconds: sla },
    freshness_seconds: freshness,
    source_freshness_seconds: newestSource === null ? null : ageSeconds(newestSource),
    newest_source_time: newestSource,
    fresh: freshness <= sla && (newestSource === null || ageSeconds(newestSource) <= sla),
    received: accepted + dead.ingest,
    accepted,
    rejected: dead.ingest,
    replayed,
    sources,
    datasets,
    tables,
    dead_lettered: dead,
    filtered,
    lag,
    last_loaded_at: lastLoaded ? lastLoaded.toISOString() : null,
    // Filled by the status snapshot from tributary.schema_drift (fold/drift-fold.ts).
    drift: [],
  };
}

/**
 * The overview every dashboard page starts from, and what the live feed pushes: each pipeline's
 * status with its flow (sources -> datasets -> tables) and records/s per node, the service
 * replicas, the alerts pending or firing, and the NATS cluster.
 */
import type { Pipeline } from '@tributary/contract/spec';
import type { StatusSnapshot } from './status-snapshot';
import type { ThroughputRates } from './throughput-rates';
import type { ActiveAlert, ClusterStatus, Overview, PipelineTopology, ServiceView } from '@tributary/contract/monitor-api';
export type { Overview, PipelineOverview, PipelineTopology } from '@tributary/contract/monitor-api';

/** The flow of a pipeline from its spec. */
export function topologyOf(p: Pipeline): PipelineTopology {
  return {
    description: p.description ?? null,
    sources: Object.entries(p.sources).map(([name, s]) => ({ name, kind: s.kind })),
    datasets: p.datasets.map((d) => ({ name: d.name, from: d.from })),
    tables: p.tables.map((t) => ({ name: t.name, from: t.from, mode: t.mode })),
  };
}

/** Assembles the overview from its parts. */
export function buildOverview(parts: {
  pipelines: readonly Pipeline[];
  snapshot: StatusSnapshot;
  rates: ThroughputRates;
  services: ServiceView[];
  alerts: ActiveAlert[];
  cluster: ClusterStatus;
  adminEnabled: boolean;
}): Overview {
  const specs = new Map(parts.pipelines.map((p) => [p.name, p]));
  return {
    taken_at: new Date(parts.snapshot.takenAt).toISOString(),
    pipelines: parts.snapshot.pipelines.map((p) => ({ ...p, rates: parts.rates.rates(p.name), topology: topologyOf(specs.get(p.name)!) })),
    monitor_lag: parts.snapshot.monitorLag,
    services: parts.services,
    alerts: parts.alerts,
    cluster: parts.cluster,
    admin: { enabled: parts.adminEnabled },
  };
}

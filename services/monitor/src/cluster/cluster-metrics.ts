/**
 * Prometheus gauges of the NATS cluster, computed on scrape from the cluster probe: whether it is
 * degraded (the `TributaryNatsClusterDegraded` alert), which configured servers answer, and each
 * stream's replicas by state.
 */
import type { Logger } from '@tributary/runtime/logger';
import { Gauge, type Registry } from 'prom-client';
import type { ClusterProbe, ReplicaState } from './cluster-probe';

const STATES: ReplicaState[] = ['current', 'lagging', 'offline'];

/** Registers the gauges in `registry`. */
export function registerClusterMetrics(registry: Registry, probe: ClusterProbe, logger: Logger): void {
  const read = () =>
    probe.get().catch((err: unknown) => {
      logger.warn({ err }, 'cannot probe the NATS cluster for /metrics');
      return undefined;
    });
  new Gauge({
    name: 'tributary_nats_cluster_degraded',
    help: 'NATS cluster degraded: 1 when a configured server does not answer, a stream has no leader, or a stream replica is offline or lagging; else 0.',
    registers: [registry],
    async collect() {
      const c = await read();
      this.set(c === undefined || c.degraded ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tributary_nats_server_up',
    help: 'Each NATS server of NATS_URL: 1 when it answers on its client port, else 0.',
    labelNames: ['server'],
    registers: [registry],
    async collect() {
      const c = await read();
      this.reset();
      for (const s of c?.servers ?? []) this.set({ server: s.address }, s.reachable ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tributary_stream_replicas',
    help: 'Replicas of each JetStream stream (KV buckets included) by state: current (the leader too), lagging, offline.',
    labelNames: ['stream', 'state'],
    registers: [registry],
    async collect() {
      const c = await read();
      this.reset();
      for (const s of c?.streams ?? []) for (const state of STATES) this.set({ stream: s.stream, state }, s[state]);
    },
  });
}

/**
 * Prometheus metrics: one registry per service, every name prefixed `tributary_`, default process
 * metrics included.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Metrics every stage exports. */
export interface StageMetrics {
  registry: Registry;
  /** Records by pipeline, stage, source or dataset name, and outcome (accepted, rejected, filtered, loaded, dead_lettered, ...). */
  records: Counter<'pipeline' | 'stage' | 'name' | 'outcome'>;
  /** Batches handled and their duration. */
  batchSeconds: Histogram<'pipeline' | 'stage' | 'result'>;
  /** Publishes waiting for a PubAck. */
  inflight: Gauge<'service'>;
}

/** Creates the registry and the shared stage metrics of a service. */
export function createMetrics(service: string): StageMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'tributary_' });
  return {
    registry,
    records: new Counter({
      name: 'tributary_records_total',
      help: 'Records handled, by pipeline, stage, source/dataset/table name and outcome.',
      labelNames: ['pipeline', 'stage', 'name', 'outcome'],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'tributary_batch_duration_seconds',
      help: 'Time to handle one batch of messages, from hand-over to durable output.',
      labelNames: ['pipeline', 'stage', 'result'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    inflight: new Gauge({
      name: 'tributary_publish_inflight',
      help: 'JetStream publishes waiting for their PubAck.',
      labelNames: ['service'],
      registers: [registry],
    }),
  };
}

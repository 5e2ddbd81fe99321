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
  /** Messages a consumer loop dead-lettered whole, by the failure class that isolated them. */
  isolated: Counter<'pipeline' | 'stage' | 'failure'>;
  /** Reports a consumer loop's infrastructure outage (`outageSeconds()`) as `tributary_consumer_outage_seconds`. */
  trackOutage(labels: { pipeline: string; stage: string }, loop: { outageSeconds(): number }): void;
}

/** Creates the registry and the shared stage metrics of a service. */
export function createMetrics(service: string): StageMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'tributary_' });
  const loops: { labels: { pipeline: string; stage: string }; loop: { outageSeconds(): number } }[] = [];
  new Gauge({
    name: 'tributary_consumer_outage_seconds',
    help: 'How long a consumer loop has been retrying an infrastructure failure (JetStream, NATS, PostgreSQL unavailable); 0 when it is not.',
    labelNames: ['pipeline', 'stage'],
    registers: [registry],
    collect() {
      for (const { labels, loop } of loops) this.set(labels, loop.outageSeconds());
    },
  });
  return {
    isolated: new Counter({
      name: 'tributary_consumer_isolated_messages_total',
      help: 'Messages dead-lettered whole by a consumer loop, by failure class: data, unknown (a bug, after bounded attempts), max_deliver.',
      labelNames: ['pipeline', 'stage', 'failure'],
      registers: [registry],
    }),
    trackOutage: (labels, loop) => void loops.push({ labels, loop }),
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

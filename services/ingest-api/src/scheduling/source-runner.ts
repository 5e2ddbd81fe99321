/**
 * Runs the pull sources of an ingest-api replica: each on its schedule, under a lease so exactly
 * one replica runs a given source at a time (see ScheduledSource), with a cursor store, the
 * record ingestor and a dead-letter function in each run's context.
 */
import { hostname } from 'node:os';
import type { JetStreamClient } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { nuid, type NatsConnection } from '@nats-io/transport-node';
import { BUCKETS } from '@tributary/contract/wire';
import { TributaryError } from '@tributary/contract/errors';
import type { Logger } from '@tributary/runtime/logger';
import type { Publisher } from '@tributary/runtime/nats';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PullContext, PullScheduler, ScheduledPull, SourceIngestor } from './pull-contract';
import { KvCursorStore } from './cursor-store';
import { buildPullContext } from './pull-context';
import { ScheduledSource } from './scheduled-source';

/** Options of a SourceRunner. */
export interface SourceRunnerOptions {
  /** KV bucket `trib_leases`. */
  leases: KV;
  /** KV bucket `trib_cursors`. */
  cursors: KV;
  ingestor: SourceIngestor;
  /** Reads parent records from streams (`readRecords`). */
  js: JetStreamClient;
  /** Publishes dead letters of items a source could not turn into records. */
  publisher: Publisher;
  logger: Logger;
  /** Where the runner's metrics are registered. */
  registry: Registry;
  /** Lease time-to-live: a replica that dies hands its sources over after at most this long. */
  leaseTtlMs?: number;
  /** Backoff of failed runs. */
  retry?: { initialMs: number; maxMs: number };
  /** Lease holder name; unique per process by default (`<hostname>:<pid>:<nuid>`). */
  holder?: string;
}

/** Opens the lease and cursor buckets, failing with TRIB_E_TOPOLOGY_MISSING when `migrate` has not created them. */
export async function openRunnerBuckets(nc: NatsConnection): Promise<{ leases: KV; cursors: KV }> {
  const kvm = new Kvm(nc);
  const open = async (name: string): Promise<KV> => {
    const kv = await kvm.open(name);
    await kv.status().catch((err: unknown) => {
      throw new TributaryError('TRIB_E_TOPOLOGY_MISSING', `KV bucket ${name} is missing; run \`npm run migrate\``, { cause: err });
    });
    return kv;
  };
  return { leases: await open(BUCKETS.leases), cursors: await open(BUCKETS.cursors) };
}

/** Metrics of the runner, registered once per registry. */
function runnerMetrics(registry: Registry) {
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    runs: get(
      'tributary_source_runs_total',
      () =>
        new Counter({
          name: 'tributary_source_runs_total',
          help: 'Pull source runs by outcome (ok, failed, aborted).',
          labelNames: ['pipeline', 'source', 'outcome'],
          registers: [registry],
        }),
    ),
    duration: get(
      'tributary_source_run_duration_seconds',
      () =>
        new Histogram({
          name: 'tributary_source_run_duration_seconds',
          help: 'Duration of pull source runs.',
          labelNames: ['pipeline', 'source'],
          buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
          registers: [registry],
        }),
    ),
    lease: get(
      'tributary_source_lease_held',
      () =>
        new Gauge({
          name: 'tributary_source_lease_held',
          help: '1 while this replica holds the lease of a pull source (runs it), else 0.',
          labelNames: ['pipeline', 'source'],
          registers: [registry],
        }),
    ),
  };
}

/** The scheduler of pull sources (implements the PullScheduler that `pullSource()` registers with). */
export class SourceRunner implements PullScheduler {
  /** This replica's lease holder name. */
  readonly holder: string;
  private readonly metrics: ReturnType<typeof runnerMetrics>;
  private readonly handles: ScheduledSource[] = [];

  constructor(private readonly o: SourceRunnerOptions) {
    this.holder = o.holder ?? `${hostname()}:${process.pid}:${nuid.next()}`;
    this.metrics = runnerMetrics(o.registry);
  }

  /** The scheduled sources added so far (tests look at `leaseHeld`). */
  get sources(): readonly ScheduledSource[] {
    return this.handles;
  }

  /** Wraps a pull source in its lease-and-schedule loop; `start()` on the handle begins it. */
  add(opts: Parameters<PullScheduler['add']>[0]): ScheduledPull {
    const { pipeline, name } = opts;
    const labels = { pipeline: pipeline.name, source: name };
    const cursors = new KvCursorStore(this.o.cursors, pipeline.name, name);
    const handle = new ScheduledSource({
      ...opts,
      leases: this.o.leases,
      cursors: this.o.cursors,
      holder: this.holder,
      leaseTtlMs: this.o.leaseTtlMs ?? 15_000,
      retry: this.o.retry ?? { initialMs: 1000, maxMs: 5 * 60_000 },
      context: ({ signal, scheduledAt, runId, logger, healthy }): PullContext =>
        buildPullContext(this.o, { pipeline, source: name, cursors, signal, logger, scheduledAt, runId, healthy }),
      observe: (e) => {
        if (e.type === 'lease') this.metrics.lease.set(labels, e.held ? 1 : 0);
        else {
          this.metrics.runs.inc({ ...labels, outcome: e.outcome });
          this.metrics.duration.observe(labels, e.seconds);
        }
      },
    });
    this.handles.push(handle);
    return handle;
  }
}

/**
 * Connects what the stateful steps of the loaded pipelines need, and only that: the `trib_state`,
 * `trib_dedupe`, `trib_join` and `trib_windows` KV buckets (checked, never created: `migrate`
 * creates them) and a warehouse pool for `enrich` from tables and for finalizing windows of
 * aggregate tables.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS } from '@tributary/contract/wire';
import { inPostgres, type Pipeline } from '@tributary/contract/spec';
import { checkTopology } from '@tributary/runtime/nats';
import { type Logger } from '@tributary/runtime/logger';
import { Pool } from 'pg';
import type { PipelineRunner } from './pipeline-runner';
import type { StepServices } from './steps/step';

/** Opened services and how to close them. */
export interface OpenedServices {
  services: StepServices;
  pool?: Pool;
  close(): Promise<void>;
}

/** Whether a pipeline has aggregate tables in PostgreSQL (their windows are finalized from the transformer). */
export function hasAggregateTables(p: Pipeline): boolean {
  return p.tables.some((t) => t.mode === 'aggregate' && inPostgres(t));
}

/** Opens the KV buckets and pool the runners' steps need. */
export async function openStepServices(
  nc: NatsConnection,
  opts: { databaseUrl: string; poolSize: number; logger: Logger },
  runners: PipelineRunner[],
  /** Reference datasets are stored in `trib_state` even when no step of the runners opens it. */
  needsState = false,
): Promise<OpenedServices> {
  const needs = new Set(runners.flatMap((r) => [...r.needs()]));
  if (needsState) needs.add('state');
  if (runners.some((r) => hasAggregateTables(r.pipeline))) needs.add('db');
  const buckets = (['state', 'dedupe', 'join', 'windows'] as const).filter((b) => needs.has(b));
  if (buckets.length > 0) {
    await checkTopology(await jetstreamManager(nc), { streams: buckets.map((b) => `KV_${BUCKETS[b]}`) });
  }
  const kvm = new Kvm(nc);
  const services: StepServices = {};
  for (const b of buckets) services[b] = await kvm.open(BUCKETS[b]);
  let pool: Pool | undefined;
  if (needs.has('db')) {
    pool = new Pool({ connectionString: opts.databaseUrl, max: opts.poolSize, application_name: 'tributary-transformer' });
    pool.on('error', (err) => opts.logger.warn({ err }, 'idle PostgreSQL connection failed'));
    services.db = pool;
  }
  return {
    services,
    pool,
    close: async () => {
      await pool?.end().catch(() => undefined);
    },
  };
}

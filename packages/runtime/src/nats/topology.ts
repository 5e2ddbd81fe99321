/**
 * Stream, consumer and KV bucket configuration, created by `migrate` and checked by services at
 * start-up so that services can run with least privilege.
 */
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { TributaryError } from '@tributary/contract/errors';
import { type Pipeline } from '@tributary/contract/spec';
import { BUCKETS, consumers, STREAMS } from '@tributary/contract/wire';
import { replicaError } from './stream-replicas';
import { streamCaps } from './storage-budget';

/** Tunables of the JetStream topology, from the environment (see `topologyEnv`). */
export interface TopologyOptions {
  /** Per-stream storage cap in bytes; a full stream rejects new messages. */
  maxBytes: number;
  /** Storage cap of TRIB_RAW, when it differs from `maxBytes`. */
  rawMaxBytes?: number;
  /** JetStream file storage all five streams may reserve together (shared out by `streamCaps`); replaces `maxBytes` and `rawMaxBytes`. */
  storageBudget?: number;
  /** How long messages are kept. */
  maxAgeMs: number;
  /** How long JetStream remembers message IDs to drop repeats. */
  duplicateWindowMs: number;
  /** Redelivery after this long without an ack. */
  ackWaitMs: number;
  /** Deliveries before a batch is dead-lettered whole. */
  maxDeliver: number;
  /** Un-acked messages per consumer across all its replicas. */
  maxAckPending: number;
  /** Stream replicas (1 on a single server, 3 on a cluster). */
  replicas: number;
  /** Time-to-live of idempotency replies. */
  idempotencyTtlMs: number;
}

/** Defaults: a week of history, 10 GiB per stream, 2 minute duplicate window. */
export const DEFAULT_TOPOLOGY: TopologyOptions = {
  maxBytes: 10 * 1024 ** 3,
  maxAgeMs: 7 * 86_400_000,
  duplicateWindowMs: 2 * 60_000,
  ackWaitMs: 30_000,
  maxDeliver: 10,
  maxAckPending: 256,
  replicas: 1,
  idempotencyTtlMs: 24 * 3_600_000,
};

/** Creates or updates the five streams. */
export async function ensureStreams(jsm: JetStreamManager, opts: TopologyOptions): Promise<void> {
  const caps = streamCaps(opts);
  const specs: { name: string; subjects: string[]; maxAgeMs: number; maxBytes: number }[] = [
    { name: STREAMS.raw, subjects: ['trib.raw.>'], maxAgeMs: opts.maxAgeMs, maxBytes: caps[STREAMS.raw]! },
    { name: STREAMS.processed, subjects: ['trib.processed.>'], maxAgeMs: opts.maxAgeMs, maxBytes: caps[STREAMS.processed]! },
    { name: STREAMS.loaded, subjects: ['trib.loaded.>'], maxAgeMs: opts.maxAgeMs, maxBytes: caps[STREAMS.loaded]! },
    // Dead letters are kept for 30 days by default: someone has to look at them.
    { name: STREAMS.dlq, subjects: ['trib.dlq.>'], maxAgeMs: Math.max(opts.maxAgeMs, 30 * 86_400_000), maxBytes: caps[STREAMS.dlq]! },
    { name: STREAMS.events, subjects: ['trib.events.>'], maxAgeMs: opts.maxAgeMs, maxBytes: caps[STREAMS.events]! },
  ];
  for (const s of specs) {
    const config = {
      name: s.name,
      subjects: s.subjects,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.New,
      max_bytes: s.maxBytes,
      max_age: nanos(s.maxAgeMs),
      duplicate_window: nanos(opts.duplicateWindowMs),
      num_replicas: opts.replicas,
    };
    const info = await jsm.streams.info(s.name).catch(() => undefined);
    // A cap below what a stream holds makes JetStream delete its oldest messages at once, consumed
    // or not: refuse, so lowering a limit can never lose data.
    if (info && s.maxBytes > 0 && info.state.bytes > s.maxBytes) {
      throw new TributaryError(
        'TRIB_E_CONFIG',
        `stream ${s.name} holds ${info.state.bytes} bytes, more than the new cap of ${s.maxBytes}: JetStream would delete its oldest messages. Keep a cap above what it holds (TRIBUTARY_STREAM_MAX_BYTES, TRIBUTARY_RAW_MAX_BYTES) until they age out.`,
        { details: { stream: s.name, bytes: info.state.bytes, maxBytes: s.maxBytes } },
      );
    }
    try {
      if (info) await jsm.streams.update(s.name, config);
      else await jsm.streams.add(config);
    } catch (err) {
      throw replicaError(err, s.name, opts.replicas);
    }
  }
}

/** The durable consumers a pipeline needs: one per stage, shared by that stage's replicas. */
export function pipelineConsumers(pipeline: Pipeline): { stream: string; durable: string; filter: string }[] {
  return [
    { stream: STREAMS.raw, durable: consumers.transformer(pipeline.name), filter: `trib.raw.${pipeline.name}.>` },
    { stream: STREAMS.processed, durable: consumers.loader(pipeline.name), filter: `trib.processed.${pipeline.name}.>` },
  ];
}

/** The archiver's consumers of a pipeline: one per archived stage, named `archiver-<pipeline>` in each stream. */
export function archiverConsumers(
  pipeline: Pipeline,
  stages: readonly ('raw' | 'processed')[],
): { stream: string; durable: string; filter: string }[] {
  return stages.map((stage) => ({
    stream: stage === 'raw' ? STREAMS.raw : STREAMS.processed,
    durable: consumers.archiver(pipeline.name),
    filter: `trib.${stage}.${pipeline.name}.>`,
  }));
}

/** The monitor's consumers, over every pipeline: headers only, except DLQ and drift bodies. */
export function monitorConsumers(): { stream: string; durable: string; filter: string; headersOnly: boolean }[] {
  return [
    { stream: STREAMS.raw, durable: consumers.monitor('raw'), filter: 'trib.raw.>', headersOnly: true },
    { stream: STREAMS.processed, durable: consumers.monitor('processed'), filter: 'trib.processed.>', headersOnly: true },
    // The monitor reads DLQ bodies too (the reason and the record), so not headers only.
    { stream: STREAMS.dlq, durable: consumers.monitor('dlq'), filter: 'trib.dlq.>', headersOnly: false },
    // Schema drift events of every pipeline (their bodies), folded into tributary.schema_drift.
    { stream: STREAMS.events, durable: consumers.monitor('drift'), filter: 'trib.events.*.drift', headersOnly: false },
  ];
}

/** Creates or updates durable pull consumers. */
export async function ensureConsumers(
  jsm: JetStreamManager,
  list: { stream: string; durable: string; filter: string; headersOnly?: boolean }[],
  opts: TopologyOptions,
): Promise<void> {
  for (const c of list) {
    const config = {
      durable_name: c.durable,
      filter_subject: c.filter,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(opts.ackWaitMs),
      max_deliver: opts.maxDeliver,
      max_ack_pending: opts.maxAckPending,
      ...(c.headersOnly ? { headers_only: true } : {}),
    };
    const exists = await jsm.consumers.info(c.stream, c.durable).then(
      () => true,
      () => false,
    );
    if (exists) {
      // filter_subject, ack policy and deliver policy are fixed at creation; the rest may change.
      const { durable_name: _d, deliver_policy: _p, ...update } = config;
      await jsm.consumers.update(c.stream, c.durable, update);
    } else {
      await jsm.consumers.add(c.stream, config);
    }
  }
}

/** Creates the KV buckets. */
export async function ensureBuckets(nc: NatsConnection, opts: TopologyOptions, pipelines?: Pipeline[]): Promise<void> {
  const kvm = new Kvm(nc);
  await kvm.create(BUCKETS.idempotency, { ttl: opts.idempotencyTtlMs, replicas: opts.replicas, history: 1 });
  await kvm.create(BUCKETS.leases, { replicas: opts.replicas, history: 1 });
  await kvm.create(BUCKETS.cursors, { replicas: opts.replicas, history: 5 });
  await kvm.create(BUCKETS.state, { replicas: opts.replicas, history: 1 });
  // Dedupe keys live as long as the longest `within` of any dedupe step, and at least a week.
  const within = (pipelines ?? []).flatMap((p) =>
    p.datasets.flatMap((d) => d.steps.flatMap((s) => (s.kind === 'dedupe' ? [s.config.within] : []))),
  );
  await kvm.create(BUCKETS.dedupe, { replicas: opts.replicas, history: 1, ttl: Math.max(7 * 86_400_000, ...within) });
  // Join and stateful-window state: no bucket TTL (an expiring entry would drop a waiting record
  // silently); the steps prune entries and delete empty ones themselves.
  await kvm.create(BUCKETS.join, { replicas: opts.replicas, history: 1 });
  await kvm.create(BUCKETS.windows, { replicas: opts.replicas, history: 1 });
}

/**
 * Start-up check: every named stream and consumer exists. Fails with TRIB_E_TOPOLOGY_MISSING
 * listing what is missing, so a service never creates topology itself (least privilege).
 */
export async function checkTopology(
  jsm: JetStreamManager,
  need: { streams?: string[]; consumers?: { stream: string; durable: string }[] },
): Promise<void> {
  const missing: string[] = [];
  for (const s of need.streams ?? []) {
    await jsm.streams.info(s).catch(() => missing.push(`stream ${s}`));
  }
  for (const c of need.consumers ?? []) {
    await jsm.consumers.info(c.stream, c.durable).catch(() => missing.push(`consumer ${c.stream}/${c.durable}`));
  }
  if (missing.length > 0) {
    throw new TributaryError(
      'TRIB_E_TOPOLOGY_MISSING',
      `JetStream topology is missing: ${missing.join(', ')}. Run \`npm run migrate\` (or the chart's migrate Job) first.`,
      { details: { missing } },
    );
  }
}

/**
 * The transformer: one consumer loop per pipeline on `transformer-<pipeline>` (TRIB_RAW). For
 * each raw batch it runs the datasets, publishes one processed message per dataset (even when
 * empty, so counts and freshness stay exact) with ID `<input ID>:<dataset>`, dead-letters failed
 * records, and lets the loop ack the input only after every PubAck arrived.
 *
 * Longer than 300 lines because it is the transformer's composition root: consumer loops,
 * publishing, drift events, previews and model reloads are wired here, their logic lives in the
 * modules it wires.
 */
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { SpanKind } from '@opentelemetry/api';
import pLimit from 'p-limit';
import { Counter } from 'prom-client';
import {
  BatchConsumer,
  deadLetterMessage,
  checkTopology,
  connectNats,
  Publisher,
  publishDeadLetter,
  startHeartbeat,
  type Heartbeat,
} from '@tributary/runtime/nats';
import { contextFromHeaders, inSpan } from '@tributary/runtime/telemetry';
import { createLogger, type Logger } from '@tributary/runtime/logger';
import { createMetrics } from '@tributary/runtime/metrics';
import { createServiceApp, listen, type Listener } from '@tributary/runtime/http';
import { settleAll, Shutdown, stopEach } from '@tributary/runtime/shutdown';
import {
  BUCKETS,
  consumers,
  H,
  header,
  makeHeaders,
  numberHeader,
  sourceTimeHeader,
  STREAMS,
  subjects,
  subjectTokens,
  cdcGroupOf,
  txnHeaders,
  type TxnGroup,
} from '@tributary/contract/wire';
import { decodeNdjson, NDJSON, type Rec } from '@tributary/contract/codec';
import { AGGREGATED_HEADER, loadPipelines, type Pipeline } from '@tributary/contract/spec';
import type { TransformerConfig } from './config';
import { PipelineRunner, type DatasetResult, type ReleasedRun } from './pipeline-runner';
import { StateSweeper } from './state-sweeper';
import { openStepServices, type OpenedServices } from './step-services';
import { referenceKeys, storeReferences } from './state/reference-store';
import type { ModelChange } from './models/onnx-model';
import { WindowFinalizer } from './window-finalizer';
import { DriftEventTimer, DriftRecorder } from './drift/drift-events';
import { startPreviewResponder } from './preview';
import { PipelineGate } from './pipeline-gate';

/** Optional injected dependencies (tests). */
export interface TransformerDeps {
  logger?: Logger;
  pipelines?: Pipeline[];
}

/** Splits encoded lines into message bodies of at most `maxBytes` (at least one line each). */
function chunkLines(lines: string[], maxBytes: number): string[][] {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: when even that bound fits, no line needs measuring.
  let units = lines.length;
  for (const l of lines) units += l.length;
  if (units * 3 <= maxBytes) return [lines];
  const parts: string[][] = [];
  let cur: string[] = [];
  let bytes = 0;
  for (const l of lines) {
    const size = Buffer.byteLength(l) + 1;
    if (cur.length > 0 && bytes + size > maxBytes) {
      parts.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(l);
    bytes += size;
  }
  parts.push(cur);
  return parts;
}

/** Builds the transformer. */
export function createApp(config: TransformerConfig, deps: TransformerDeps = {}) {
  const logger = deps.logger ?? createLogger('transformer', config.LOG_LEVEL);
  const only = config.TRANSFORMER_ONLY?.split(',').map((s) => s.trim());
  const pipelines = (deps.pipelines ?? loadPipelines(config.TRIBUTARY_PIPELINES)).filter((p) => !only || only.includes(p.name));
  const runners = new Map(pipelines.map((p) => [p.name, new PipelineRunner(p, config.TRIBUTARY_HMAC_KEY)]));
  const metrics = createMetrics('transformer');
  const modelChanges = new Counter({
    name: 'tributary_ml_model_changes_total',
    help: 'ONNX model files (model steps) replaced on disk, by step and outcome (loaded: new batches use it; rejected: the previous model goes on).',
    labelNames: ['pipeline', 'step', 'outcome'],
    registers: [metrics.registry],
  });
  const breakerTrips = new Counter({
    name: 'tributary_circuit_breaker_trips_total',
    help: "Times a pipeline's circuit breaker paused it because its records failed at a high rate (spec `circuit_breaker`).",
    labelNames: ['pipeline'],
    registers: [metrics.registry],
  });
  const drift = new DriftRecorder(metrics.registry, { intervalMs: config.TRANSFORMER_DRIFT_EVENT_INTERVAL, logger });
  let driftTimer: DriftEventTimer | undefined;
  let nc: NatsConnection | undefined;
  let publisher: Publisher | undefined;
  const gates = new Map<string, PipelineGate>();
  let listener: Listener | undefined;
  let opened: OpenedServices | undefined;
  const finalizers: WindowFinalizer[] = [];
  const sweepers: StateSweeper[] = [];
  /** Datasets other datasets enrich from, with the key fields to store them under in KV. */
  const references = new Map(pipelines.map((p) => [p.name, referenceKeys(p)]));
  let heartbeat: Heartbeat | undefined;
  let preview: { stop(): void } | undefined;

  const app = createServiceApp({
    registry: metrics.registry,
    ready: () =>
      gates.size < pipelines.length || [...gates.values()].some((g) => !g.ready)
        ? 'consumers not running'
        : nc?.isClosed()
          ? 'NATS connection closed'
          : undefined,
  });

  /**
   * Inputs decoded and transformed at once in this process (across pipelines). Few, so one
   * input's records die young while the next is worked on; their PubAcks overlap outside it.
   */
  const transformGate = pLimit(config.TRANSFORMER_CONCURRENCY);

  /** Transforms one raw message; resolves once every output is durable. */
  async function handleMessage(pipeline: Pipeline, msg: JsMsg): Promise<void> {
    const runner = runners.get(pipeline.name)!;
    const [, source] = subjectTokens(msg.subject);
    const inputId = header(msg.headers, 'Nats-Msg-Id') ?? `${STREAMS.raw}:${msg.seq}`;
    const ingestedAt = numberHeader(msg.headers, H.ingestedAt, Date.now());
    // A header that is not a timestamp throws: the message is dead-lettered, never passed on without it.
    const sourceTime = sourceTimeHeader(msg.headers);
    await inSpan(
      `process ${msg.subject}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'nats',
          'messaging.destination.name': msg.subject,
          'messaging.message.id': inputId,
          'messaging.operation.type': 'process',
        },
      },
      contextFromHeaders(msg.headers),
      async () => {
        // The decoded records live only inside the gate: once their messages are sent, the next
        // input is decoded while the PubAcks of this one are awaited outside it.
        const sent = await transformGate(async () => {
          const records = decodeNdjson(msg.data);
          const results = await runner.run(source!, records, inputId, {
            schema: header(msg.headers, H.schema),
            ...(sourceTime ? { sourceTime } : {}),
          });
          // Reference datasets are in KV before the input is acked (a redelivery puts the same values).
          for (const r of results) {
            if (references.get(pipeline.name)!.has(r.dataset)) {
              await storeReferences(opened!.services.state!, pipeline, references.get(pipeline.name)!, r.dataset, r.records);
            }
          }
          const acks = sendResults(pipeline, results, {
            txn: sourceTxnOf(pipeline, source!, inputId, msg.headers, records),
            inputId,
            ingestedAt,
            source: source!,
            attempts: msg.info.deliveryCount,
            original: { stream: STREAMS.raw, subject: msg.subject, seq: msg.seq },
            schema: header(msg.headers, H.schema),
          });
          // Awaited below, once out of the gate; until then a failure is not "unhandled".
          acks.catch(() => undefined);
          // For the circuit breaker: each input record counts once, failed when any dataset dead-lettered it.
          const failed = new Map<number, { code: string; message: string }>();
          for (const r of results) for (const f of r.failures) if (!failed.has(f.index)) failed.set(f.index, f.error);
          return { acks, records: records.length, failures: [...failed.values()] };
        });
        await sent.acks;
        gates.get(pipeline.name)?.note(sent.records, sent.failures);
      },
    );
  }

  /**
   * Publishes one input's results: a processed message per dataset (`<input ID>:<dataset>`), a
   * dead letter per failed record, an event per record of an `emit` step. Resolves once every
   * PubAck arrived; rejects if any publish failed (the input is then not acked).
   */
  async function publishResults(...args: Parameters<typeof sendResults>): Promise<void> {
    await sendResults(...args);
  }

  /**
   * Starts every publish of `publishResults` before it returns, and returns their settling: the
   * promise holds the publishes, not the records, which can be collected while PubAcks travel.
   */
  function sendResults(
    pipeline: Pipeline,
    results: DatasetResult[],
    meta: {
      /** The input's source-transaction group (a `postgres_cdc` batch): every output names it. */
      txn?: Omit<TxnGroup, 'outputs'>;
      inputId: string;
      ingestedAt: number;
      source: string;
      attempts: number;
      original: { stream?: string; subject?: string; seq?: number };
      /** The input's source-schema fingerprint, carried on to its dead letters. */
      schema?: string;
    },
  ): Promise<void> {
    const { inputId, ingestedAt, source } = meta;
    const pending: Promise<unknown>[] = [];
    const chunked = results.map((r) =>
      chunkLines(
        r.records.map((rec) => JSON.stringify(rec)),
        config.TRANSFORMER_BATCH_BYTES,
      ),
    );
    // Every processed message of a source-transaction group says how many the input gave, so the
    // loader knows when it has them all (docs/design.md, Source transactions).
    const txn = meta.txn ? txnHeaders({ ...meta.txn, outputs: chunked.reduce((n, c) => n + c.length, 0) }) : {};
    for (const [k, r] of results.entries()) {
      const parts = chunked[k]!;
      parts.forEach((part, p) => {
        pending.push(
          publisher!.publish(subjects.processed(pipeline.name, r.dataset), Buffer.from(part.join('\n')), {
            msgId: parts.length > 1 ? `${inputId}:${r.dataset}:${p}` : `${inputId}:${r.dataset}`,
            headers: makeHeaders({
              [H.pipeline]: pipeline.name,
              [H.dataset]: r.dataset,
              [H.count]: part.length,
              // The filtered count travels once per input batch, on its first part.
              [H.filtered]: p === 0 ? r.filtered : 0,
              [H.routed]: p === 0 && r.elsewhere > 0 ? r.elsewhere : undefined,
              // Window datasets: input records behind the partial rows (their record_count sum).
              [AGGREGATED_HEADER]: r.aggregated === undefined ? undefined : p === 0 ? r.aggregated : 0,
              [H.inputId]: inputId,
              [H.ingestedAt]: ingestedAt,
              [H.sourceTime]: r.sourceTime,
              [H.contentType]: NDJSON,
              [H.schema]: r.fingerprint,
              [H.model]: r.models?.join(', '),
              [H.part]: parts.length > 1 ? `${p + 1}/${parts.length}` : undefined,
              ...txn,
            }),
          }),
        );
      });
      for (const f of r.failures) {
        pending.push(
          publishDeadLetter(
            publisher!,
            {
              pipeline: pipeline.name,
              stage: 'transform',
              name: r.dataset,
              record: f.record,
              error: {
                code: f.error.code,
                message: f.error.message,
                location: { ...f.error.location, index: f.index },
                ...(f.error.details === undefined ? {} : { details: f.error.details }),
              },
              attempts: meta.attempts,
              replaySubject: subjects.raw(pipeline.name, source),
              original: { ...meta.original, msgId: inputId, index: f.index },
              ingestedAt,
              failedAt: new Date().toISOString(),
              ...(meta.schema ? { schema: meta.schema } : {}),
            },
            `${inputId}:${r.dataset}:dlq:${f.index}`,
          ),
        );
      }
      // Events of `emit` steps, one message each (as window-final events are), IDs by position.
      for (const [name, recs] of r.events ?? []) {
        recs.forEach((rec, n) => {
          pending.push(
            publisher!.publish(subjects.events(pipeline.name, name), Buffer.from(JSON.stringify(rec)), {
              msgId: `${inputId}:${r.dataset}:event:${name}:${n}`,
              headers: makeHeaders({
                [H.pipeline]: pipeline.name,
                [H.name]: name,
                [H.dataset]: r.dataset,
                [H.count]: 1,
                [H.inputId]: inputId,
                [H.ingestedAt]: ingestedAt,
                [H.sourceTime]: r.sourceTime,
                [H.contentType]: 'application/json',
              }),
            }),
          );
        });
      }
      if (r.drift) drift.note(pipeline, r.dataset, source, r.drift);
      metrics.records.inc({ pipeline: pipeline.name, stage: 'transform', name: r.dataset, outcome: 'processed' }, r.records.length);
      if (r.filtered)
        metrics.records.inc({ pipeline: pipeline.name, stage: 'transform', name: r.dataset, outcome: 'filtered' }, r.filtered);
      if (r.failures.length)
        metrics.records.inc({ pipeline: pipeline.name, stage: 'transform', name: r.dataset, outcome: 'dead_lettered' }, r.failures.length);
    }
    // Drift events due now go out with this input: its first drift is durable before it is acked.
    const events = drift.due(pipeline.name);
    if (events.length > 0) pending.push(drift.publish(publisher!, events, inputId));
    return settleAll(pending);
  }

  /** Publishes what a stateful step's clock released (see StateSweeper). */
  async function publishRelease(pipeline: Pipeline, r: ReleasedRun): Promise<void> {
    for (const res of r.results) {
      if (references.get(pipeline.name)!.has(res.dataset)) {
        await storeReferences(opened!.services.state!, pipeline, references.get(pipeline.name)!, res.dataset, res.records);
      }
    }
    await publishResults(pipeline, r.results, {
      inputId: r.id,
      ingestedAt: r.ingestedAt,
      source: r.source ?? r.dataset,
      attempts: 1,
      original: {},
    });
  }

  /** Dead-letters a whole raw message that cannot be processed (undecodable, or poison). */
  async function poison(pipeline: Pipeline, msg: JsMsg, err: unknown): Promise<void> {
    await deadLetterMessage(publisher!, msg, err, { pipeline: pipeline.name, stage: 'transform', stream: STREAMS.raw });
  }

  const shutdown = new Shutdown(logger)
    .step('heartbeat', () => heartbeat?.stop())
    .step('previews', () => preview?.stop())
    .step('consumers', async () => {
      await stopEach(gates.values());
      gates.clear();
    })
    .step('window finalizers', () => stopEach(finalizers.splice(0)))
    .step('state sweepers', () => stopEach(sweepers.splice(0)))
    .step('drift events', () => driftTimer?.stop())
    .step('pipeline runners', async () => {
      for (const r of runners.values()) await r.close();
    })
    .step('step services', () => opened?.close())
    .step('HTTP server', () => listener?.close())
    .step('NATS', () => (nc && !nc.isClosed() ? nc.drain() : undefined));

  return {
    app,
    metrics,
    /** Connects, checks the topology and starts one consumer loop per pipeline. */
    async start(): Promise<{ port: number }> {
      nc = await connectNats(config.NATS_URL, 'transformer', config);
      const jsm = await jetstreamManager(nc);
      await checkTopology(jsm, {
        streams: [STREAMS.raw, STREAMS.processed, STREAMS.dlq],
        consumers: pipelines.map((p) => ({ stream: STREAMS.raw, durable: consumers.transformer(p.name) })),
      });
      const js = jetstream(nc);
      publisher = new Publisher(js, config.TRANSFORMER_MAX_INFLIGHT);
      // Stateful steps (dedupe, enrich) and window finalization: connect only what is used.
      const needsState = pipelines.some((p) => references.get(p.name)!.size > 0);
      opened = await openStepServices(
        nc,
        { databaseUrl: config.DATABASE_URL, poolSize: config.TRANSFORMER_POOL_SIZE, logger },
        [...runners.values()],
        needsState,
      );
      const modelChanged = (pipeline: string, c: ModelChange): void => {
        modelChanges.inc({ pipeline, step: c.where, outcome: c.outcome });
        const about = { pipeline, step: c.where, file: c.file, previous: c.previous };
        if (c.outcome === 'loaded') logger.info({ ...about, model: c.next }, 'model file changed: new batches use the new model');
        else
          logger.error(
            { ...about, rejected: c.next, reason: c.reason },
            'model file changed but cannot be used: the previous model goes on',
          );
      };
      for (const r of runners.values()) await r.open({ ...opened.services, onModelChange: (c) => modelChanged(r.pipeline.name, c) });
      if (opened.pool) {
        for (const p of pipelines) {
          const f = new WindowFinalizer({
            pool: opened.pool,
            publisher,
            pipeline: p,
            logger: logger.child({ pipeline: p.name, component: 'window-finalizer' }),
            intervalMs: config.TRANSFORMER_FINALIZE_INTERVAL,
          });
          f.start();
          finalizers.push(f);
        }
      }
      // Clocks of the stateful steps (join timeouts, idle sessions): released records take the
      // same publish path as a transformed input, under IDs derived from the release.
      for (const p of pipelines) {
        const sweeper = new StateSweeper({
          runner: runners.get(p.name)!,
          publish: (r: ReleasedRun) => publishRelease(p, r),
          logger: logger.child({ pipeline: p.name, component: 'state-sweeper' }),
          intervalMs: config.TRANSFORMER_SWEEP_INTERVAL,
        });
        sweeper.start();
        sweepers.push(sweeper);
      }
      // The pipelines' pauses and circuit breakers (pipeline-gate.ts): absent bucket, never paused.
      const cursors = await new Kvm(nc).open(BUCKETS.cursors).catch((err: unknown) => {
        logger.warn({ err }, `KV bucket ${BUCKETS.cursors} unavailable: pipelines cannot be paused`);
        return undefined;
      });
      for (const p of pipelines) {
        const makeLoop = (): BatchConsumer =>
          new BatchConsumer({
            js,
            stream: STREAMS.raw,
            durable: consumers.transformer(p.name),
            maxBatch: config.TRANSFORMER_BATCH_MESSAGES,
            // The process's budget, shared by its pipelines: memory does not grow with their number.
            maxBatchBytes: Math.ceil(config.TRANSFORMER_FETCH_BYTES / pipelines.length),
            maxMessageBytes: nc!.info?.max_payload,
            maxDeliver: config.TRIBUTARY_MAX_DELIVER,
            logger: logger.child({ pipeline: p.name }),
            handle: async (msgs) => {
              // With reference datasets (`enrich` from a dataset) one message after the other, so a
              // message's reference rows are in KV before the next is transformed (source order).
              if (references.get(p.name)!.size > 0) for (const m of msgs) await handleMessage(p, m);
              else await Promise.all(msgs.map((m) => handleMessage(p, m)));
            },
            onPoison: (m, err) => poison(p, m, err),
            onIsolated: ({ failure }) => metrics.isolated.inc({ pipeline: p.name, stage: 'transform', failure }),
            onBatch: ({ ms, ok }) =>
              metrics.batchSeconds.observe({ pipeline: p.name, stage: 'transform', result: ok ? 'ok' : 'error' }, ms / 1000),
          });
        const gate = new PipelineGate({
          pipeline: p,
          kv: cursors,
          makeLoop,
          logger: logger.child({ pipeline: p.name }),
          pollMs: config.TRANSFORMER_PAUSE_POLL,
          onTrip: (trip) => {
            breakerTrips.inc({ pipeline: p.name });
            logger.error({ pipeline: p.name, trip }, 'circuit breaker tripped: pausing the pipeline');
          },
        });
        gates.set(p.name, gate);
        await gate.start();
        metrics.trackOutage({ pipeline: p.name, stage: 'transform' }, gate);
      }
      driftTimer = new DriftEventTimer({
        recorder: drift,
        publisher: () => publisher!,
        pipelines: pipelines.map((p) => p.name),
        intervalMs: config.TRANSFORMER_DRIFT_EVENT_INTERVAL,
        logger,
      });
      driftTimer.start();
      // Dry runs of DLQ fixes for the monitor (trib.preview.<pipeline>): nothing published, no state changed.
      preview = startPreviewResponder({ nc, pipelines, hmacKey: config.TRIBUTARY_HMAC_KEY, services: opened.services, logger });
      listener = await listen(app, config.TRANSFORMER_PORT, config.HOST, config);
      heartbeat = startHeartbeat(nc, { service: 'transformer' });
      logger.info({ port: listener.port, pipelines: pipelines.map((p) => p.name) }, 'transformer ready');
      return { port: listener.port };
    },
    /** Finishes the batches in hand, then closes. */
    stop: () => shutdown.stop(),
  };
}

/**
 * The source-transaction group of a raw message (docs/design.md, Source transactions): a
 * `postgres_cdc` change batch (not a snapshot chunk), with the commit time of its newest
 * transaction (its records' `_commit_at`); undefined for anything else.
 */
function sourceTxnOf(
  pipeline: Pipeline,
  source: string,
  inputId: string,
  headers: JsMsg['headers'],
  records: readonly Rec[],
): Omit<TxnGroup, 'outputs'> | undefined {
  if (pipeline.sources[source]?.kind !== 'postgres_cdc') return undefined;
  const g = cdcGroupOf(inputId, header(headers, H.part));
  if (!g) return undefined;
  let newest: string | undefined;
  for (const r of records) {
    const at = r._commit_at;
    if (typeof at === 'string' && (newest === undefined || at > newest)) newest = at;
  }
  return newest === undefined ? g : { ...g, commitAt: newest };
}

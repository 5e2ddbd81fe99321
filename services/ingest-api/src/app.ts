/**
 * The ingest-api: the HTTP push endpoint and the background sources of every pipeline.
 * `createApp` has no side effects until `start()`; tests import it directly.
 */
import { createHash } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { nuid } from '@nats-io/transport-node';
import { context, SpanKind } from '@opentelemetry/api';
import { BUCKETS, findPipeline, isTributaryError, loadPipelines, STREAMS, TributaryError, type Pipeline } from '@tributary/contract';
import {
  checkTopology,
  connectTracked,
  createLogger,
  createMetrics,
  createServiceApp,
  inSpan,
  listen,
  Publisher,
  type Listener,
  type Logger,
  type TrackedConnection,
  startHeartbeat,
  type Heartbeat,
} from '@tributary/runtime';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Counter, Gauge } from 'prom-client';
import { ApiKeys } from './api-keys';
import type { IngestConfig } from './config';
import { IdempotencyStore } from './idempotency-store';
import { binaryFormatOf, decodeBinaryBody } from './parse/binary-body';
import { formatOf, parseBodyWithLines } from './parse/parse-body';
import { RateLimiter } from './rate-limiter';
import { bodyAdmission } from './admission';
import { RecordIngestor } from './record-ingestor';
import { openRunnerBuckets, SourceRunner } from './scheduling/source-runner';
import { fileUploadRoute } from './sources/files/upload-route';
import { SOURCES } from './sources/registry';
import type { SourceHandle } from './sources/source';

/** Optional injected dependencies (tests). */
export interface IngestDeps {
  logger?: Logger;
  pipelines?: Pipeline[];
}

/** JSON Schema property types of a source schema, for typing CSV columns. */
function csvTypes(pipeline: Pipeline, source: string): Record<string, string> | undefined {
  const ref = pipeline.sources[source]?.schema;
  const props = (ref ? (pipeline.schemas[ref] as { properties?: Record<string, { type?: string }> }) : undefined)?.properties;
  if (!props) return undefined;
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, typeof v.type === 'string' ? v.type : 'string']));
}

/** Builds the ingest-api. */
export function createApp(config: IngestConfig, deps: IngestDeps = {}) {
  const logger = deps.logger ?? createLogger('ingest-api', config.LOG_LEVEL);
  const pipelines = deps.pipelines ?? loadPipelines(config.TRIBUTARY_PIPELINES);
  const metrics = createMetrics('ingest-api');
  const requests = new Counter({
    name: 'tributary_ingest_requests_total',
    help: 'Ingest HTTP requests by pipeline, source and status code.',
    labelNames: ['pipeline', 'source', 'status'],
    registers: [metrics.registry],
  });
  const apiKeys = new ApiKeys({ inline: config.TRIBUTARY_API_KEYS, file: config.TRIBUTARY_API_KEYS_FILE });
  const limiter = new RateLimiter(config.INGEST_RATE_LIMIT, config.INGEST_RATE_BURST);
  let conn: TrackedConnection | undefined;
  let ingestor: RecordIngestor | undefined;
  let idempotency: IdempotencyStore | undefined;
  let listener: Listener | undefined;
  let heartbeat: Heartbeat | undefined;
  const sources: SourceHandle[] = [];
  let ready = false;

  const app = createServiceApp({
    registry: metrics.registry,
    ready: () => (!ready ? 'starting' : !conn?.connected ? 'NATS disconnected' : undefined),
  });

  const admission = bodyAdmission(config.INGEST_MAX_PENDING_BYTES, config.INGEST_MAX_BODY_BYTES);
  new Gauge({
    name: 'tributary_ingest_pending_bytes',
    help: 'Request body bytes the ingest-api holds (received, parsing or publishing), against INGEST_MAX_PENDING_BYTES.',
    registers: [metrics.registry],
    collect() {
      this.set(admission.pendingBytes());
    },
  });

  app.post(
    '/v1/pipelines/:pipeline/sources/:source/records',
    admission.middleware,
    express.raw({ type: () => true, limit: config.INGEST_MAX_BODY_BYTES }),
    async (req: Request, res: Response) => {
      const { pipeline: pName, source } = req.params as { pipeline: string; source: string };
      const parent = context.active();
      await inSpan(
        'POST /v1/pipelines/{pipeline}/sources/{source}/records',
        { kind: SpanKind.SERVER, attributes: { 'tributary.pipeline': pName, 'tributary.source': source } },
        parent,
        async (span) => {
          const pipeline = findPipeline(pipelines, pName);
          if (!pipeline) throw new TributaryError('TRIB_E_UNKNOWN_PIPELINE', `unknown pipeline "${pName}"`);
          const auth = req.get('authorization')?.replace(/^Bearer\s+/i, '') ?? req.get('x-api-key');
          const keyName = apiKeys.authorize(auth, pipeline.name);
          const src = pipeline.sources[source];
          if (!src) throw new TributaryError('TRIB_E_UNKNOWN_SOURCE', `pipeline "${pName}" has no source "${source}"`);
          if (src.kind !== 'push')
            throw new TributaryError(
              'TRIB_E_UNKNOWN_SOURCE',
              `source "${source}" of pipeline "${pName}" is a ${src.kind} source, not push`,
            );
          const wait = limiter.take(keyName ?? req.ip ?? 'anonymous');
          if (wait > 0) {
            res.set('Retry-After', String(wait));
            throw new TributaryError('TRIB_E_RATE_LIMITED', `rate limit of ${config.INGEST_RATE_LIMIT} requests/s exceeded`);
          }
          // Avro and Protobuf bodies are decoded with the source's schema; the rest are text formats.
          const binary = binaryFormatOf(req.get('content-type'));
          const format = binary ? undefined : formatOf(req.get('content-type'));
          if (!conn?.connected) throw new TributaryError('TRIB_E_UNAVAILABLE', 'JetStream is unavailable (NATS disconnected); retry later');
          const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
          const idemKey = req.get('idempotency-key');
          if (idemKey !== undefined && (idemKey.length === 0 || idemKey.length > 255)) {
            throw new TributaryError('TRIB_E_PARSE', 'Idempotency-Key must be 1 to 255 characters');
          }
          const bodySha = idemKey ? createHash('sha256').update(body).digest('hex') : '';
          if (idemKey) {
            const first = await idempotency!.get(pipeline.name, source, idemKey, bodySha);
            if (first) {
              span.setAttribute('tributary.idempotent_replay', true);
              res.set('Idempotent-Replayed', 'true').status(202).json(first);
              requests.inc({ pipeline: pName, source, status: 202 });
              return;
            }
          }
          const { records, lines } = binary
            ? { records: await decodeBinaryBody(body, binary, pipeline, source), lines: undefined }
            : parseBodyWithLines(body, format!, format === 'csv' ? csvTypes(pipeline, source) : undefined);
          // The ID rules of docs/design.md (Message IDs): the client's key makes retries idempotent; without one a
          // fresh ID is used, so a client retry after a lost reply may duplicate (documented).
          const id = idemKey ? `${source}:${idemKey}` : `${source}:${nuid.next()}`;
          const result = await ingestor!.ingest(pipeline, source, records, id, undefined, lines);
          if (idemKey) await idempotency!.put(pipeline.name, source, idemKey, bodySha, result);
          span.setAttributes({ 'tributary.accepted': result.accepted, 'tributary.rejected': result.rejected });
          res.status(202).json(result);
          requests.inc({ pipeline: pName, source, status: 202 });
        },
      );
    },
  );

  // File uploads for `file` sources with `upload: true`, streamed into their folder.
  app.use(
    fileUploadRoute({
      pipelines,
      authorize: (req, pipeline) =>
        apiKeys.authorize(req.get('authorization')?.replace(/^Bearer\s+/i, '') ?? req.get('x-api-key'), pipeline),
    }),
  );

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: { code: 'TRIB_E_NOT_FOUND', message: 'no such endpoint' } });
  });

  // Error boundary: every failure becomes a JSON error with its stable code, logged once here.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let e: TributaryError;
    const httpErr = err as { type?: string; status?: number; message?: string };
    if (isTributaryError(err)) e = err;
    else if (httpErr.type === 'entity.too.large')
      e = new TributaryError('TRIB_E_TOO_LARGE', `body larger than ${config.INGEST_MAX_BODY_BYTES} bytes`);
    else if (httpErr.status && httpErr.status >= 400 && httpErr.status < 500)
      e = new TributaryError('TRIB_E_PARSE', httpErr.message ?? 'bad request');
    else e = new TributaryError('TRIB_E_INTERNAL', 'internal error', { cause: err });
    if (e.code === 'TRIB_E_UNAVAILABLE') res.set('Retry-After', (e.details as { streamFull?: boolean })?.streamFull ? '5' : '1');
    const status = e.code === 'TRIB_E_VALIDATION' ? 422 : e.status;
    if (status >= 500) logger.error({ err, path: req.path }, e.message);
    else logger.debug({ code: e.code, path: req.path }, e.message);
    const { pipeline = '', source = '' } = (req.params ?? {}) as Record<string, string>;
    requests.inc({ pipeline, source, status });
    res.status(status).json({ error: e.toJSON() });
  });

  return {
    app,
    metrics,
    /** Connects, checks the topology, starts sources and the HTTP listener. */
    async start(): Promise<{ port: number }> {
      conn = await connectTracked(config.NATS_URL, 'ingest-api', config);
      const nc = conn.nc;
      const jsm = await jetstreamManager(nc);
      await checkTopology(jsm, { streams: [STREAMS.raw, STREAMS.dlq] });
      const kv = await new Kvm(nc).open(BUCKETS.idempotency);
      await kv.status().catch((err: unknown) => {
        throw new TributaryError('TRIB_E_TOPOLOGY_MISSING', `KV bucket ${BUCKETS.idempotency} is missing; run \`npm run migrate\``, {
          cause: err,
        });
      });
      idempotency = new IdempotencyStore(kv);
      const publisher = new Publisher(jetstream(nc), config.INGEST_MAX_INFLIGHT);
      ingestor = new RecordIngestor(publisher, {
        batchRecords: config.INGEST_BATCH_RECORDS,
        batchBytes: config.INGEST_BATCH_BYTES,
        metrics,
      });
      // Pull sources (rest, postgres_cdc, file, ...) run under the scheduler: on their schedules,
      // one replica at a time per source (a lease in KV). Without it they are built (configs
      // checked) but not run.
      const scheduler = config.INGEST_PULL_SOURCES
        ? new SourceRunner({
            ...(await openRunnerBuckets(nc)),
            js: jetstream(nc),
            ingestor,
            publisher,
            logger,
            registry: metrics.registry,
            leaseTtlMs: config.INGEST_LEASE_TTL_MS,
          })
        : undefined;
      for (const p of pipelines) {
        for (const [name, src] of Object.entries(p.sources)) {
          if (src.kind === 'push' || (src.kind === 'generator' && !config.INGEST_GENERATORS)) continue;
          const kind = SOURCES[src.kind];
          const override = config.GENERATOR_DURATION;
          const spec = src.kind === 'generator' && override !== undefined ? { ...src, duration: override } : src;
          const handle = (kind.create as (c: typeof src, d: unknown) => SourceHandle)(spec, {
            pipeline: p,
            name,
            ingestor,
            logger: logger.child({ pipeline: p.name, source: name }),
            metrics,
            scheduler,
          });
          await handle.start();
          sources.push(handle);
        }
      }
      listener = await listen(app, config.INGEST_PORT, config.HOST, config);
      ready = true;
      heartbeat = startHeartbeat(nc, { service: 'ingest-api' });
      logger.info({ port: listener.port, pipelines: pipelines.map((p) => p.name), sources: sources.length }, 'ingest-api ready');
      return { port: listener.port };
    },
    /** Stops sources, finishes in-flight requests, drains NATS. */
    async stop(): Promise<void> {
      ready = false;
      await heartbeat?.stop();
      for (const s of sources.splice(0)) await s.stop();
      await listener?.close();
      await conn?.nc.drain().catch(() => undefined);
    },
  };
}

/**
 * The ingest-api: the HTTP push endpoint and the background sources of every pipeline.
 * `createApp` has no side effects until `start()`; tests import it directly.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { BUCKETS, STREAMS } from '@tributary/contract/wire';
import { isTributaryError, TributaryError } from '@tributary/contract/errors';
import { loadPipelines, type Pipeline } from '@tributary/contract/spec';
import { checkTopology, connectTracked, Publisher, type TrackedConnection, startHeartbeat, type Heartbeat } from '@tributary/runtime/nats';
import { createLogger, type Logger } from '@tributary/runtime/logger';
import { createMetrics } from '@tributary/runtime/metrics';
import { createServiceApp, listen, type Listener } from '@tributary/runtime/http';
import { Shutdown } from '@tributary/runtime/shutdown';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge } from 'prom-client';
import { ApiKeys } from './api-keys';
import type { IngestConfig } from './config';
import { IdempotencyStore } from './idempotency-store';
import { RateLimiter } from './rate-limiter';
import { bodyAdmission } from './admission';
import { RecordIngestor } from './record-ingestor';
import { openRunnerBuckets, SourceRunner } from './scheduling/source-runner';
import { fileUploadRoute } from './sources/files/upload-route';
import { createSource } from './sources/registry';
import type { PushReceiver } from './sources/source';
import type { HttpIntake, SourceHandle } from './sources/source';
import { pushRoute, receiverKey } from './push-route';

/** Optional injected dependencies (tests). */
export interface IngestDeps {
  logger?: Logger;
  pipelines?: Pipeline[];
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
  let listener: Listener | undefined;
  let heartbeat: Heartbeat | undefined;
  /** Running sources, each with its logger (bound to its pipeline and name). */
  const sources: { handle: SourceHandle; logger: Logger }[] = [];
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

  const receivers = new Map<string, PushReceiver>();
  app.use(
    pushRoute({
      pipelines,
      apiKeys,
      limiter,
      rateLimit: config.INGEST_RATE_LIMIT,
      maxBodyBytes: config.INGEST_MAX_BODY_BYTES,
      admission: admission.middleware,
      connected: () => conn?.connected === true,
      receivers,
      requests,
    }),
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

  const shutdown = new Shutdown(logger)
    .step('readiness', () => {
      ready = false;
    })
    .step('heartbeat', () => heartbeat?.stop())
    .step('sources', async () => {
      for (const s of sources.splice(0)) {
        await s.handle.stop();
        s.logger.info('source stopped');
      }
    })
    .step('HTTP server', () => listener?.close())
    .step('NATS', () => (conn && !conn.nc.isClosed() ? conn.nc.drain() : undefined));

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
      const http: HttpIntake = {
        idempotency: new IdempotencyStore(kv),
        receive(pipeline, source, receiver) {
          const key = receiverKey(pipeline, source);
          receivers.set(key, receiver);
          return () => receivers.delete(key);
        },
      };
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
          if (src.kind === 'generator' && !config.INGEST_GENERATORS) continue;
          const override = config.GENERATOR_DURATION;
          const spec = src.kind === 'generator' && override !== undefined ? { ...src, duration: override } : src;
          const sourceLogger = logger.child({ pipeline: p.name, source: name });
          const handle = createSource(spec, { pipeline: p, name, ingestor, logger: sourceLogger, scheduler, http });
          await handle.start();
          sourceLogger.info({ kind: src.kind }, 'source started');
          sources.push({ handle, logger: sourceLogger });
        }
      }
      listener = await listen(app, config.INGEST_PORT, config.HOST, config);
      ready = true;
      heartbeat = startHeartbeat(nc, { service: 'ingest-api' });
      logger.info({ port: listener.port, pipelines: pipelines.map((p) => p.name), sources: sources.length }, 'ingest-api ready');
      return { port: listener.port };
    },
    /** Stops sources, finishes in-flight requests, drains NATS. */
    stop: () => shutdown.stop(),
  };
}

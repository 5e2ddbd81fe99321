/**
 * `POST /v1/pipelines/:pipeline/sources/:source/records`: who may push and how much (api keys,
 * rate limit, body admission are checked here), then the body goes to the push source registered
 * for that pipeline and source (sources/push.ts), which parses and ingests it.
 */
import { context, SpanKind } from '@opentelemetry/api';
import { findPipeline, type Pipeline } from '@tributary/contract/spec';
import { H } from '@tributary/contract/wire';
import { TributaryError } from '@tributary/contract/errors';
import { inSpan } from '@tributary/runtime/telemetry';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Counter } from 'prom-client';
import type { ApiKeys } from './api-keys';
import type { RateLimiter } from './rate-limiter';
import type { PushReceiver } from './sources/source';

/** What the route needs. */
export interface PushRouteOptions {
  pipelines: Pipeline[];
  apiKeys: ApiKeys;
  limiter: RateLimiter;
  /** Requests per second per key (for the error message). */
  rateLimit: number;
  maxBodyBytes: number;
  /** Holds bodies within the process's pending-bytes budget. */
  admission: RequestHandler;
  /** Whether NATS is connected: no body is taken while it is not. */
  connected(): boolean;
  /** The running push sources, by `receiverKey`. */
  receivers: ReadonlyMap<string, PushReceiver>;
  requests: Counter;
}

/** The key of a push source in `receivers`. */
export function receiverKey(pipeline: string, source: string): string {
  return `${pipeline}\u0000${source}`;
}

/** The push endpoint. */
export function pushRoute(o: PushRouteOptions): Router {
  const router = express.Router();
  router.post(
    '/v1/pipelines/:pipeline/sources/:source/records',
    o.admission,
    express.raw({ type: () => true, limit: o.maxBodyBytes }),
    async (req: Request, res: Response) => {
      const { pipeline: pName, source } = req.params as { pipeline: string; source: string };
      await inSpan(
        'POST /v1/pipelines/{pipeline}/sources/{source}/records',
        { kind: SpanKind.SERVER, attributes: { 'tributary.pipeline': pName, 'tributary.source': source } },
        context.active(),
        async (span) => {
          const pipeline = findPipeline(o.pipelines, pName);
          if (!pipeline) throw new TributaryError('TRIB_E_UNKNOWN_PIPELINE', `unknown pipeline "${pName}"`);
          const auth = req.get('authorization')?.replace(/^Bearer\s+/i, '') ?? req.get('x-api-key');
          const keyName = o.apiKeys.authorize(auth, pipeline.name);
          const src = pipeline.sources[source];
          if (!src) throw new TributaryError('TRIB_E_UNKNOWN_SOURCE', `pipeline "${pName}" has no source "${source}"`);
          if (src.kind !== 'push')
            throw new TributaryError(
              'TRIB_E_UNKNOWN_SOURCE',
              `source "${source}" of pipeline "${pName}" is a ${src.kind} source, not push`,
            );
          const wait = o.limiter.take(keyName ?? req.ip ?? 'anonymous');
          if (wait > 0) {
            res.set('Retry-After', String(wait));
            throw new TributaryError('TRIB_E_RATE_LIMITED', `rate limit of ${o.rateLimit} requests/s exceeded`);
          }
          const receive = o.receivers.get(receiverKey(pipeline.name, source));
          if (!o.connected() || !receive)
            throw new TributaryError('TRIB_E_UNAVAILABLE', 'JetStream is unavailable (NATS disconnected); retry later');
          const { result, replayed } = await receive({
            body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
            contentType: req.get('content-type'),
            idempotencyKey: req.get('idempotency-key'),
            sourceTime: req.get(H.sourceTime),
          });
          if (replayed) {
            span.setAttribute('tributary.idempotent_replay', true);
            res.set('Idempotent-Replayed', 'true');
          } else span.setAttributes({ 'tributary.accepted': result.accepted, 'tributary.rejected': result.rejected });
          res.status(202).json(result);
          o.requests.inc({ pipeline: pName, source, status: 202 });
        },
      );
    },
  );
  return router;
}

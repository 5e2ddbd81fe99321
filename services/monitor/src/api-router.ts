/**
 * The monitor's JSON API: pipeline status (`/api/pipelines`, `/api/pipelines/:name`) and the
 * dead-letter browser (`/api/dlq`). Errors answer `{ error: { code, message } }` with the code's status.
 */
import { findPipeline, identifier, toTributaryError, TributaryError, type Logger, type Pipeline } from '@tributary/core';
import express, { type ErrorRequestHandler, type Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { listDeadLetters } from './dead-letter-store';
import type { StatusSnapshots } from './status-snapshot';

/** What the API reads. */
export interface ApiRouterDeps {
  pipelines: readonly Pipeline[];
  snapshots: StatusSnapshots;
  pool: Pool;
  logger: Logger;
  /** Upper bound of `limit` in `/api/dlq`. */
  maxDlqLimit: number;
}

/** Creates the `/api` router (mount it at the root). */
export function createApiRouter(deps: ApiRouterDeps): Router {
  const router = express.Router();
  const dlqQuery = z.object({
    pipeline: identifier.optional(),
    stage: z.enum(['ingest', 'transform', 'load']).optional(),
    limit: z.coerce.number().int().min(1).max(deps.maxDlqLimit).default(100),
    before: z.coerce.number().int().min(1).optional(),
  });

  router.get('/api/pipelines', async (_req, res) => {
    const s = await deps.snapshots.get();
    res.json({ pipelines: s.pipelines, monitor_lag: s.monitorLag });
  });

  router.get('/api/pipelines/:name', async (req, res) => {
    if (!findPipeline(deps.pipelines, req.params.name)) {
      throw new TributaryError('TRIB_E_UNKNOWN_PIPELINE', `unknown pipeline "${req.params.name}"`);
    }
    const s = await deps.snapshots.get();
    res.json({ pipeline: s.pipelines.find((p) => p.name === req.params.name), monitor_lag: s.monitorLag });
  });

  router.get('/api/dlq', async (req, res) => {
    const q = dlqQuery.safeParse(req.query);
    if (!q.success) {
      const problems = q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new TributaryError('TRIB_E_PARSE', `invalid query: ${problems.join('; ')}`, { details: q.error.issues });
    }
    res.json({ dead_letters: await listDeadLetters(deps.pool, q.data) });
  });

  // The catalogue has no code for a wrong URL; an unknown endpoint is still a JSON 404.
  router.use('/api', (req, res) => {
    res.status(404).json({ error: { message: `no such endpoint: ${req.method} ${req.originalUrl}` } });
  });

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const e = toTributaryError(err);
    if (e.status >= 500) deps.logger.error({ err, path: req.path }, 'API request failed');
    res.status(e.status).json({ error: { code: e.code, message: e.message } });
  };
  router.use(onError);
  return router;
}

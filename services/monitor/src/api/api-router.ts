/**
 * The monitor's JSON API: pipeline status (`/api/pipelines`, `/api/pipelines/:name`), the
 * dashboard's overview and live feed (`/api/overview`, `/api/live`), the pipeline page's series,
 * errors and loads, services, alerts, and the DLQ console (see dlq-router.ts). Errors answer
 * `{ error: { code, message } }` with the code's status.
 */
import { findPipeline, type Pipeline } from '@tributary/contract/spec';
import { toTributaryError, TributaryError } from '@tributary/contract/errors';
import type { Logger } from '@tributary/runtime/logger';
import express, { type ErrorRequestHandler, type Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { AlertMonitor } from '../alerts/alert-monitor';
import { ALERT_NAMES } from '../alerts/alert-rules';
import type { ClusterProbe } from '../cluster/cluster-probe';
import { createDlqHintsRouter } from '../dlq/dlq-hints-router';
import { createDlqRouter, type DlqRouterDeps } from '../dlq/dlq-router';
import type { LiveFeed } from './live-feed';
import type { AlertEvent, Overview } from '@tributary/contract/monitor-api';
import { queryCheckResults, queryErrorGroups, queryPipelineSeries, queryRecentLoads } from '../status/pipeline-series';
import type { ReplicaRegistry } from '../cluster/replica-registry';
import type { StatusSnapshots } from '../status/status-snapshot';

/** What the API reads. */
export interface ApiRouterDeps {
  pipelines: readonly Pipeline[];
  snapshots: StatusSnapshots;
  pool: Pool;
  logger: Logger;
  /** Upper bound of `limit` in `/api/dlq`. */
  maxDlqLimit: number;
  overview: () => Promise<Overview>;
  live: LiveFeed;
  replicas: ReplicaRegistry;
  alerts: AlertMonitor;
  cluster: ClusterProbe;
  adminToken: string | undefined;
  /** The pull sources' routes (`sources/source-router.ts`). */
  sources?: Router;
  /** The pipelines' pause and resume (`status/pipeline-pauses.ts`). */
  pauses?: Router;
  actions: DlqRouterDeps['actions'];
  preview: DlqRouterDeps['preview'];
}

/** Creates the `/api` router (mount it at the root). */
export function createApiRouter(deps: ApiRouterDeps): Router {
  const router = express.Router();
  const known = (name: string): Pipeline => {
    const p = findPipeline(deps.pipelines, name);
    if (!p) throw new TributaryError('TRIB_E_UNKNOWN_PIPELINE', `unknown pipeline "${name}"`);
    return p;
  };
  const minutesQuery = z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(15);

  router.get('/api/pipelines', async (_req, res) => {
    const s = await deps.snapshots.get();
    res.json({ pipelines: s.pipelines, monitor_lag: s.monitorLag });
  });

  router.get('/api/pipelines/:name', async (req, res) => {
    known(req.params.name);
    const s = await deps.snapshots.get();
    res.json({ pipeline: s.pipelines.find((p) => p.name === req.params.name), monitor_lag: s.monitorLag });
  });

  router.get('/api/overview', async (_req, res) => {
    res.json(await deps.overview());
  });

  router.get('/api/live', (req, res) => deps.live.attach(req, res));

  router.get('/api/pipelines/:name/series', async (req, res) => {
    const p = known(req.params.name);
    const minutes = minutesQuery.safeParse(req.query.minutes);
    if (!minutes.success) throw new TributaryError('TRIB_E_PARSE', 'minutes must be an integer from 1 to 10080');
    res.json(await queryPipelineSeries(deps.pool, p.name, minutes.data));
  });

  router.get('/api/pipelines/:name/errors', async (req, res) => {
    res.json({ errors: await queryErrorGroups(deps.pool, known(req.params.name).name) });
  });

  router.get('/api/pipelines/:name/loads', async (req, res) => {
    res.json({ loads: await queryRecentLoads(deps.pool, known(req.params.name).name) });
  });

  router.get('/api/pipelines/:name/checks', async (req, res) => {
    res.json({ checks: await queryCheckResults(deps.pool, known(req.params.name).name) });
  });

  router.get('/api/services', (_req, res) => {
    res.json({ services: deps.replicas.services() });
  });

  router.get('/api/cluster', async (_req, res) => {
    res.json(await deps.cluster.get());
  });

  router.get('/api/alerts', async (_req, res) => {
    const history = (
      await deps.pool.query<AlertEvent>(
        `SELECT id::int, at, alert, status, severity, labels, summary, value, starts_at
         FROM tributary.alert_events ORDER BY id DESC LIMIT 100`,
      )
    ).rows;
    res.json({ active: deps.alerts.list(), history, rules: ALERT_NAMES });
  });

  router.use(
    createDlqRouter({
      pool: deps.pool,
      maxLimit: deps.maxDlqLimit,
      adminToken: deps.adminToken,
      actions: deps.actions,
      preview: deps.preview,
    }),
  );
  router.use(createDlqHintsRouter({ pool: deps.pool, pipelines: deps.preview.pipelines }));
  if (deps.sources) router.use(deps.sources);
  if (deps.pauses) router.use(deps.pauses);

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

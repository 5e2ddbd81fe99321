/**
 * The pull sources of a pipeline in the monitor's API: `GET /api/pipelines/:name/sources` (their
 * runs, read now), and the operator's `POST /api/pipelines/:name/sources/:source/pause` and
 * `.../resume` behind the admin token, which the dashboard and `tributary sources pause|resume`
 * use. A pause is a key in KV that the ingest-api's scheduler reads before each run: the spec is
 * not edited, and a paused source keeps its cursor and resumes where it stopped.
 */
import type { KV } from '@nats-io/kv';
import { findPipeline, type Pipeline } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { setSourcePause } from '@tributary/runtime/nats';
import { type Logger } from '@tributary/runtime/logger';
import express, { type Router } from 'express';
import { z } from 'zod';
import { actorOf, refuseCrossSite, requireAdmin } from '../admin-auth';
import type { SourceRuns } from './source-runs';

/** What the router needs. */
export interface SourceRouterDeps {
  pipelines: readonly Pipeline[];
  runs: SourceRuns;
  /** The `trib_cursors` bucket (absent: pause and resume answer 503). */
  kv: KV | undefined;
  adminToken: string | undefined;
  logger: Logger;
}

const pauseBody = z.strictObject({ reason: z.string().max(500).optional() });

/** The source routes. */
export function createSourceRouter(deps: SourceRouterDeps): Router {
  const router = express.Router();
  const pullSource = (name: string, source?: string): Pipeline => {
    const p = findPipeline(deps.pipelines, name);
    if (!p) throw new TributaryError('TRIB_E_UNKNOWN_PIPELINE', `unknown pipeline "${name}"`);
    if (source !== undefined && !Object.hasOwn(p.sources, source)) {
      throw new TributaryError('TRIB_E_UNKNOWN_SOURCE', `pipeline "${name}" has no source "${source}"`);
    }
    return p;
  };

  router.get('/api/pipelines/:name/sources', async (req, res) => {
    res.json({ sources: await deps.runs.of(pullSource(req.params.name)) });
  });

  const admin = [refuseCrossSite(), requireAdmin(deps.adminToken), express.json({ limit: '16kb' })];
  for (const action of ['pause', 'resume'] as const) {
    router.post(`/api/pipelines/:name/sources/:source/${action}`, ...admin, async (req, res) => {
      const source = String(req.params.source);
      const p = pullSource(String(req.params.name), source);
      const body = pauseBody.safeParse(req.body ?? {});
      if (!body.success) throw new TributaryError('TRIB_E_SPEC', `body: ${body.error.issues.map((i) => i.message).join('; ')}`);
      if (!deps.kv) throw new TributaryError('TRIB_E_UNAVAILABLE', 'the KV bucket trib_cursors is not available; run `npm run migrate`');
      const by = actorOf(res);
      await setSourcePause(
        deps.kv,
        p.name,
        source,
        action === 'pause' ? { at: Date.now(), by, ...(body.data.reason ? { reason: body.data.reason } : {}) } : undefined,
      );
      deps.logger.info({ pipeline: p.name, source, by, reason: body.data.reason }, `source ${action}d`);
      const view = (await deps.runs.of(p)).find((r) => r.source === source);
      res.json({ source: view ?? null });
    });
  }
  return router;
}

/**
 * Paused pipelines in the monitor: their pause as `GET /api/pipelines[/<name>]` shows it
 * (`paused`), and the operator's `POST /api/pipelines/<name>/pause` and `.../resume` behind the
 * admin token, which the dashboard's pipeline page and `tributary pipelines pause|resume` use. A
 * pause is the key `pause.<pipeline>` in KV (runtime `pipeline-pause.ts`) that the transformers
 * read every second: paused, they take none of the pipeline's records, which wait in the raw
 * stream; the circuit breaker writes the same key with its reason, and only an operator resumes.
 */
import type { KV } from '@nats-io/kv';
import { findPipeline, type Pipeline } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { describePause, readPipelinePause, setPipelinePause, type PipelinePause } from '@tributary/runtime/nats';
import { type Logger } from '@tributary/runtime/logger';
import express, { type Router } from 'express';
import { z } from 'zod';
import { actorOf, refuseCrossSite, requireAdmin } from '../admin-auth';
import type { PipelinePauseView } from '@tributary/contract/monitor-api';

/** A pause as the API shows it. */
export function pauseView(p: PipelinePause): PipelinePauseView {
  const b = p.breaker;
  return {
    at: new Date(p.at).toISOString(),
    by: p.by,
    ...(p.reason ? { reason: p.reason } : {}),
    ...(b
      ? {
          breaker: {
            failed: b.failed,
            records: b.records,
            threshold: b.threshold,
            window_seconds: b.windowMs / 1000,
            ...(b.code ? { code: b.code } : {}),
            ...(b.sample ? { sample: b.sample } : {}),
          },
        }
      : {}),
    summary: describePause(p),
  };
}

/** The pauses of the paused pipelines among `pipelines`. */
export async function readPauses(kv: KV, pipelines: readonly Pipeline[]): Promise<Map<string, PipelinePauseView>> {
  const out = new Map<string, PipelinePauseView>();
  await Promise.all(
    pipelines.map(async (p) => {
      const pause = await readPipelinePause(kv, p.name);
      if (pause) out.set(p.name, pauseView(pause));
    }),
  );
  return out;
}

const pauseBody = z.strictObject({ reason: z.string().max(500).optional() });

/** The pause and resume routes. */
export function createPauseRouter(deps: {
  pipelines: readonly Pipeline[];
  /** The `trib_cursors` bucket (absent: pause and resume answer 503). */
  kv: KV | undefined;
  adminToken: string | undefined;
  logger: Logger;
  /** Called after a change, so the next status read shows it. */
  onChange?: () => void;
}): Router {
  const router = express.Router();
  const admin = [refuseCrossSite(), requireAdmin(deps.adminToken), express.json({ limit: '16kb' })];
  for (const action of ['pause', 'resume'] as const) {
    router.post(`/api/pipelines/:name/${action}`, ...admin, async (req, res) => {
      const p = findPipeline(deps.pipelines, String(req.params.name));
      if (!p) throw new TributaryError('TRIB_E_UNKNOWN_PIPELINE', `unknown pipeline "${String(req.params.name)}"`);
      const body = pauseBody.safeParse(req.body ?? {});
      if (!body.success) throw new TributaryError('TRIB_E_SPEC', `body: ${body.error.issues.map((i) => i.message).join('; ')}`);
      if (!deps.kv) throw new TributaryError('TRIB_E_UNAVAILABLE', 'the KV bucket trib_cursors is not available; run `npm run migrate`');
      const by = actorOf(res);
      const before = await readPipelinePause(deps.kv, p.name);
      await setPipelinePause(
        deps.kv,
        p.name,
        action === 'pause' ? { at: Date.now(), by, ...(body.data.reason ? { reason: body.data.reason } : {}) } : undefined,
      );
      deps.logger.info({ pipeline: p.name, by, reason: body.data.reason, was: before }, `pipeline ${action}d`);
      deps.onChange?.();
      const now = await readPipelinePause(deps.kv, p.name);
      res.json({ pipeline: p.name, paused: now ? pauseView(now) : null });
    });
  }
  return router;
}

/**
 * The DLQ console's API: browse and search dead letters (`GET /api/dlq`, `/api/dlq/:seq`), the
 * audit trail (`GET /api/dlq/actions`), and the write actions (`POST /api/dlq/replay`,
 * `POST /api/dlq/discard`) behind the admin token.
 */
import { identifier, TributaryError } from '@tributary/contract';
import express, { type Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { actorOf, refuseCrossSite, requireAdmin } from '../api/admin-auth';
import type { DeadLetterActions } from './dead-letter-actions';
import { listDeadLetters } from './dead-letter-store';
import type { DlqAction } from '../api/api-types';

/** What the DLQ router needs. */
export interface DlqRouterDeps {
  pool: Pool;
  maxLimit: number;
  adminToken: string | undefined;
  actions: DeadLetterActions;
}

const filterShape = {
  pipeline: identifier.optional(),
  stage: z.enum(['ingest', 'transform', 'load']).optional(),
  name: identifier.optional(),
  code: z
    .string()
    .regex(/^TRIB_E_[A-Z_]+$/)
    .optional(),
  q: z.string().trim().min(1).max(200).optional(),
  status: z.enum(['open', 'replayed', 'discarded', 'all']).optional(),
};

/** Why the operator acts (kept in the audit trail's note): `tributary dlq discard` requires one. */
const reason = z.string().trim().min(1).max(500).optional();
const actionBody = z.union([
  z.strictObject({ seqs: z.array(z.number().int().positive()).min(1).max(10_000), force: z.boolean().optional(), reason }),
  z.strictObject({ filter: z.strictObject(filterShape), force: z.boolean().optional(), reason }),
]);

/** Parses with zod, or throws TRIB_E_PARSE naming every problem. */
function parse<T>(schema: z.ZodType<T>, v: unknown, what: string): T {
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
  throw new TributaryError('TRIB_E_PARSE', `invalid ${what}: ${problems.join('; ')}`, { details: r.error.issues });
}

/** Creates the DLQ router (mount at the root). */
export function createDlqRouter(deps: DlqRouterDeps): Router {
  const router = express.Router();
  const listQuery = z.object({
    ...filterShape,
    limit: z.coerce.number().int().min(1).max(deps.maxLimit).default(100),
    before: z.coerce.number().int().min(1).optional(),
  });

  router.get('/api/dlq', async (req, res) => {
    const q = parse(listQuery, req.query, 'query');
    res.json({ dead_letters: await listDeadLetters(deps.pool, q) });
  });

  router.get('/api/dlq/actions', async (req, res) => {
    const limit = parse(z.coerce.number().int().min(1).max(500).default(50), req.query.limit, 'limit');
    const r = await deps.pool.query<DlqAction>(
      `SELECT id::int, at, action, actor, remote_addr, selection, requested, done, skipped, failed, note
       FROM tributary.dlq_actions ORDER BY id DESC LIMIT $1`,
      [limit],
    );
    res.json({ actions: r.rows });
  });

  router.get('/api/dlq/:seq', async (req, res) => {
    const seq = parse(z.coerce.number().int().positive(), req.params.seq, 'sequence');
    const [d] = await listDeadLetters(deps.pool, { before: seq + 1, limit: 1, status: 'all' });
    if (!d || d.seq !== seq) return void res.status(404).json({ error: { message: `no dead letter with sequence ${seq}` } });
    res.json({ dead_letter: d });
  });

  const admin = [refuseCrossSite(), requireAdmin(deps.adminToken)];
  for (const action of ['replay', 'discard'] as const) {
    router.post(`/api/dlq/${action}`, ...admin, express.json({ limit: '1mb' }), async (req, res) => {
      const body = parse(actionBody, req.body, 'request body');
      const selection = 'seqs' in body ? { seqs: body.seqs } : { filter: body.filter };
      const result = await deps.actions.apply(
        action,
        selection,
        { name: actorOf(res), remoteAddr: req.ip },
        body.force ?? false,
        body.reason,
      );
      res.json(result);
    });
  }
  return router;
}

/**
 * The DLQ console's API: browse and search dead letters (`GET /api/dlq`, `/api/dlq/:seq`), group
 * them by cause with totals (`GET /api/dlq/groups`), the audit trail (`GET /api/dlq/actions`), and,
 * behind the admin token, the dry run of a fix (`POST /api/dlq/preview`) and the write actions
 * (`POST /api/dlq/replay`, `POST /api/dlq/discard`).
 */
import { identifier, sensitiveFields } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import express, { type Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { actorOf, adminTokenCheck, refuseCrossSite, requireAdmin } from '../admin-auth';
import { deadLetterMasker } from './dead-letter-privacy';
import type { DeadLetterActions } from './dead-letter-actions';
import { listDeadLetters } from './dead-letter-store';
import type { DlqAction } from '@tributary/contract/monitor-api';
import { compileFix, fixShape } from './dlq-fix';
import { GROUP_DIMENSIONS, groupDeadLetters, type GroupDimension } from './dlq-groups';
import { previewDeadLetters, type PreviewDeps } from './dlq-preview';

/** What the DLQ router needs. */
export interface DlqRouterDeps {
  pool: Pool;
  maxLimit: number;
  adminToken: string | undefined;
  actions: DeadLetterActions;
  preview: PreviewDeps;
}

const filterShape = {
  pipeline: identifier.optional(),
  stage: z.enum(['ingest', 'transform', 'load']).optional(),
  name: identifier.optional(),
  code: z
    .string()
    .regex(/^TRIB_E_[A-Z_]+$/)
    .optional(),
  /** The field an error names; `(none)` for errors naming none. */
  field: z.string().trim().min(1).max(200).optional(),
  /** Source schema fingerprint; `(none)` for dead letters without one. */
  schema: z.string().trim().min(1).max(200).optional(),
  q: z.string().trim().min(1).max(200).optional(),
  status: z.enum(['open', 'replayed', 'discarded', 'all']).optional(),
};

/** Why the operator acts (kept in the audit trail's note): `tributary dlq discard` requires one. */
const reason = z.string().trim().min(1).max(500).optional();
const selection = {
  force: z.boolean().optional(),
  reason,
  fix: fixShape.optional(),
  /** Replay: wait this long for the replayed records' outcome. */
  wait_ms: z.number().int().min(0).max(30_000).optional(),
  /** Preview: at most this many dead letters. */
  limit: z.number().int().min(1).max(1000).optional(),
};
const actionBody = z.union([
  z.strictObject({ seqs: z.array(z.number().int().positive()).min(1).max(10_000), ...selection }),
  z.strictObject({ filter: z.strictObject(filterShape), ...selection }),
]);

/** How long a replay waits for its records' outcome unless the request says otherwise. */
const DEFAULT_REPLAY_WAIT_MS = 5_000;

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
  const dimensions = Object.keys(GROUP_DIMENSIONS) as GroupDimension[];
  const groupQuery = z.object({
    ...filterShape,
    by: z
      .string()
      .default('pipeline,stage,name,code,field')
      .transform((s) => s.split(',').map((x) => x.trim()))
      .pipe(z.array(z.enum(dimensions as [GroupDimension, ...GroupDimension[]])).min(1)),
  });

  // Without the admin token, personal fields are masked, and searches do not look at them.
  const isAdmin = adminTokenCheck(deps.adminToken);
  const mask = deadLetterMasker(deps.preview.pipelines);
  const hidden = [...new Set(deps.preview.pipelines.flatMap((p) => [...sensitiveFields(p)]))];
  const reader = (req: express.Request, res: express.Response) => {
    res.vary('Authorization');
    const clear = isAdmin(req);
    return { hiddenFields: clear ? [] : hidden, show: clear ? <T>(d: T): T => d : mask };
  };

  router.get('/api/dlq', async (req, res) => {
    const q = parse(listQuery, req.query, 'query');
    const { hiddenFields, show } = reader(req, res);
    res.json({ dead_letters: (await listDeadLetters(deps.pool, { ...q, hiddenFields })).map(show) });
  });

  router.get('/api/dlq/groups', async (req, res) => {
    const { by, ...filter } = parse(groupQuery, req.query, 'query');
    const { hiddenFields } = reader(req, res);
    res.json(await groupDeadLetters(deps.pool, { ...filter, hiddenFields }, by));
  });

  router.get('/api/dlq/actions', async (req, res) => {
    const limit = parse(z.coerce.number().int().min(1).max(500).default(50), req.query.limit, 'limit');
    const r = await deps.pool.query<DlqAction>(
      `SELECT id::int, at, action, actor, remote_addr, selection, fix, requested, done, skipped, failed, note
       FROM tributary.dlq_actions ORDER BY id DESC LIMIT $1`,
      [limit],
    );
    res.json({ actions: r.rows });
  });

  router.get('/api/dlq/:seq', async (req, res) => {
    const seq = parse(z.coerce.number().int().positive(), req.params.seq, 'sequence');
    const [d] = await listDeadLetters(deps.pool, { before: seq + 1, limit: 1, status: 'all' });
    if (!d || d.seq !== seq) return void res.status(404).json({ error: { message: `no dead letter with sequence ${seq}` } });
    res.json({ dead_letter: reader(req, res).show(d) });
  });

  const admin = [refuseCrossSite(), requireAdmin(deps.adminToken), express.json({ limit: '4mb' })];
  router.post('/api/dlq/preview', ...admin, async (req, res) => {
    const body = parse(actionBody, req.body, 'request body');
    const sel = 'seqs' in body ? { seqs: body.seqs } : { filter: body.filter };
    res.json(await previewDeadLetters(deps.preview, sel, compileFix(body.fix), body.limit ?? 100));
  });
  for (const action of ['replay', 'discard'] as const) {
    router.post(`/api/dlq/${action}`, ...admin, async (req, res) => {
      const body = parse(actionBody, req.body, 'request body');
      if (action === 'discard' && body.fix) throw new TributaryError('TRIB_E_PARSE', 'a discard takes no fix');
      const sel = 'seqs' in body ? { seqs: body.seqs } : { filter: body.filter };
      const result = await deps.actions.apply(
        action,
        sel,
        { name: actorOf(res), remoteAddr: req.ip },
        {
          force: body.force ?? false,
          ...(body.reason ? { reason: body.reason } : {}),
          ...(body.fix ? { fix: body.fix } : {}),
          waitMs: body.wait_ms ?? DEFAULT_REPLAY_WAIT_MS,
        },
      );
      res.json(result);
    });
  }
  return router;
}

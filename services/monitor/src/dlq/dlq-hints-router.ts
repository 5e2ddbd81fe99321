/**
 * `GET /api/dlq/<seq>/hints`: what a fixed record of one dead letter must satisfy where it replays
 * to (the source schema for a raw subject, the dataset's declared fields for a processed one), so
 * the console can show it beside the record being edited and `tributary dlq show --schema` print it.
 */
import { TributaryError } from '@tributary/contract/errors';
import { type Pipeline } from '@tributary/contract/spec';
import express, { type Router } from 'express';
import type { Pool } from 'pg';
import type { DeadLetterHints } from '@tributary/contract/monitor-api';
import { listDeadLetters } from './dead-letter-store';
import { recordHints } from './replay-target';

/** Creates the hints router (mount at the root). */
export function createDlqHintsRouter(deps: { pool: Pool; pipelines: readonly Pipeline[] }): Router {
  const router = express.Router();
  router.get('/api/dlq/:seq/hints', async (req, res) => {
    const seq = Number(req.params.seq);
    if (!Number.isSafeInteger(seq) || seq < 1) throw new TributaryError('TRIB_E_PARSE', `invalid sequence: "${req.params.seq}"`);
    const [d] = await listDeadLetters(deps.pool, { before: seq + 1, limit: 1, status: 'all' });
    if (!d || d.seq !== seq) return void res.status(404).json({ error: { message: `no dead letter with sequence ${seq}` } });
    res.json({ seq, hints: recordHints(deps.pipelines, d) } satisfies DeadLetterHints);
  });
  return router;
}

/**
 * Which dead letters an action or a preview works on: listed sequences, or every dead letter
 * matching a filter with exactly the listing's semantics, walked in pages.
 */
import type { Pool } from 'pg';
import {
  DEAD_LETTER_COLUMNS,
  filterClause,
  toView,
  type DeadLetterDbRow,
  type DeadLetterFilter,
  type DeadLetterView,
} from './dead-letter-store';

/** What an action applies to: listed sequences, or every dead letter matching a filter. */
export type DeadLetterSelection = { seqs: number[] } | { filter: DeadLetterFilter };

const PAGE = 500;

/**
 * Pages of the selected dead letters, with how many were asked for. Without `force`, listed
 * sequences already replayed or discarded are left out, and a filter covers its `status` (open by
 * default); with it, everything selected.
 */
export async function* selectDeadLetters(
  pool: Pool,
  selection: DeadLetterSelection,
  force: boolean,
): AsyncGenerator<{ requested: number; rows: DeadLetterView[] }> {
  if ('seqs' in selection) {
    const seqs = [...new Set(selection.seqs)];
    for (let i = 0; i < seqs.length; i += PAGE) {
      const chunk = seqs.slice(i, i + PAGE);
      const r = await pool.query<DeadLetterDbRow>(
        `SELECT ${DEAD_LETTER_COLUMNS} FROM tributary.dead_letters d
         LEFT JOIN tributary.dead_letter_state s ON s.seq = d.seq
         WHERE d.seq = ANY($1::bigint[]) AND ($2 OR s.seq IS NULL) ORDER BY d.seq`,
        [chunk, force],
      );
      yield { requested: chunk.length, rows: r.rows.map(toView) };
    }
    return;
  }
  // "All matching": the listing's filter, walked newest first by sequence. A page acted on
  // leaves the open set, so the cursor (not an offset) keeps the walk exact.
  const filter = { ...selection.filter, status: force ? ('all' as const) : (selection.filter.status ?? 'open') };
  let before: number | null = null;
  for (;;) {
    const f = filterClause(filter, 3);
    const r: { rows: DeadLetterDbRow[] } = await pool.query<DeadLetterDbRow>(
      `SELECT ${DEAD_LETTER_COLUMNS} FROM tributary.dead_letters d
       LEFT JOIN tributary.dead_letter_state s ON s.seq = d.seq
       WHERE ($1::bigint IS NULL OR d.seq < $1) AND ${f.sql} ORDER BY d.seq DESC LIMIT $2`,
      [before, PAGE, ...f.params],
    );
    if (r.rows.length === 0) return;
    const rows = r.rows.map(toView);
    yield { requested: rows.length, rows };
    before = rows.at(-1)!.seq;
    if (rows.length < PAGE) return;
  }
}

/**
 * `postgres_poll` source: rows inserted or updated since the last run, found by a watermark on
 * a timestamp column with the key as tie-break, for databases without logical replication.
 *
 * Each page is `(cursor, key) > watermark AND cursor < safety bound ORDER BY cursor, key LIMIT n`
 * (see safetyBound for why the bound). Like postgres_cdc, the page's end is committed as
 * `pending` before it is published, so a crash re-reads exactly that range and publishes it under
 * the same message ID; then the watermark moves.
 */
import { createHash } from 'node:crypto';
import { postgresPollSourceSpec } from '@tributary/contract/spec';
import { pullSource } from './pull-source';
import { checkPostgresConnection, connectPostgres, postgresUrl } from './pg/pg-connection';
import { describeTable, readPage, safetyBound, type RowPos } from './pg/poll-query';
import { isoTimestamp } from './pg/pg-values';

/** Config shape of the postgres_poll source (from the core spec). */
export const spec = postgresPollSourceSpec;

/** What the source keeps in its cursor. */
interface PollCursor {
  /** The watermark: the last row published. */
  after?: RowPos;
  /** The end of a page committed before its publish. */
  pending?: RowPos;
}

/** Deterministic position of a page: the range it covers (hashed: key values may hold any text). */
function pagePosition(after: RowPos | undefined, to: RowPos): string {
  return `poll:${createHash('sha256')
    .update(JSON.stringify([after ?? null, to]))
    .digest('hex')
    .slice(0, 32)}`;
}

/** Creates the source: checks its connection, touches no network. */
export const create = pullSource<typeof spec>((config, deps) => {
  checkPostgresConnection(deps.pipeline, deps.name, config.connection);
  return {
    async run(ctx) {
      const client = await connectPostgres(postgresUrl(deps.pipeline, deps.name, config.connection), {
        application: `tributary-poll-${deps.pipeline.name}-${deps.name}`,
      });
      try {
        const table = await describeTable(client, {
          table: config.table,
          cursorColumn: config.cursor_column,
          key: config.key,
          columns: config.columns,
        });
        // One bound per run: rows written after it are left for the next run.
        const bound = await safetyBound(client, table, config.safety_lag, config.wait_for_open_transactions);
        const state: PollCursor = (await ctx.cursors.get<PollCursor>()) ?? {};
        let published = 0;
        while (!ctx.signal.aborted) {
          const replaying = state.pending !== undefined;
          const page = state.pending
            ? await readPage(client, table, { after: state.after, upTo: state.pending })
            : await readPage(client, table, { after: state.after, bound, limit: config.batch_records });
          const to = state.pending ?? page.positions[page.positions.length - 1];
          if (!to) break;
          await ctx.cursors.commit({ after: state.after, pending: to } satisfies PollCursor);
          const records = page.rows.map((row, i) => ({
            ...row,
            _table: table.name,
            _op: 'upsert',
            _commit_at: isoTimestamp(page.positions[i]!.c),
          }));
          if (records.length > 0) await ctx.publish(records, pagePosition(state.after, to));
          state.after = to;
          delete state.pending;
          await ctx.cursors.commit(state);
          published += records.length;
          if (!replaying && page.rows.length < config.batch_records) break;
        }
        if (published > 0) ctx.logger.info({ rows: published, watermark: state.after?.c }, 'postgres_poll published rows');
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
});

/**
 * postgres_cdc and postgres_poll pass the pull-source conformance suite against a private
 * PostgreSQL (wal_level=logical). postgres_cdc streams until aborted, so its fixture wraps each run:
 * the run ends once the slot has confirmed everything written before it started (caught up).
 */
import { PostgresServer } from '@tributary/testkit';
import type { PullContext, PullSource } from '../src/sources/pull-source';
import { create as createCdc } from '../src/sources/postgres-cdc';
import { create as createPoll } from '../src/sources/postgres-poll';
import { pullSourceConformance } from './conformance';

/** A server per suite (the suite's afterAll stops everything it started); a database per fixture. */
function serverOnce(): () => Promise<PostgresServer> {
  let pg: Promise<PostgresServer> | undefined;
  return () => (pg ??= PostgresServer.start({ settings: { wal_level: 'logical', max_replication_slots: 10, max_wal_senders: 10 } }));
}
const cdcServer = serverOnce();
const pollServer = serverOnce();

/** Runs a continuous source until the slot confirmed the WAL position current at the start. */
function untilCaughtUp(src: PullSource, server: PostgresServer, db: string, slot: string): PullSource {
  return {
    async run(ctx: PullContext) {
      const [{ target }] = await server.query<{ target: string }>('SELECT pg_current_wal_lsn()::text AS target', [], db);
      const inner = new AbortController();
      const onOuter = (): void => inner.abort(ctx.signal.reason);
      ctx.signal.addEventListener('abort', onOuter, { once: true });
      let running = true;
      const watch = (async () => {
        while (running && !inner.signal.aborted) {
          const r = await server.query<{ ok: boolean }>(
            'SELECT confirmed_flush_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $2',
            [target, slot],
            db,
          );
          if (r[0]?.ok) return inner.abort(new Error('caught up'));
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      try {
        await src.run({ ...ctx, signal: inner.signal });
      } finally {
        running = false;
        ctx.signal.removeEventListener('abort', onOuter);
        await watch;
      }
    },
  };
}

pullSourceConformance('postgres_cdc', async (h, id) => {
  const pgs = await cdcServer();
  const url = await pgs.createDatabase(id);
  await pgs.query('CREATE TABLE items (id int PRIMARY KEY, name text)', [], id);
  process.env[`CONF_${id}`] = url;
  const pipeline = h.pipeline(`
pipeline: ${id}
connections:
  db: { kind: postgres, url: env:CONF_${id} }
sources:
  items:
    kind: postgres_cdc
    connection: db
    tables: [items]
    batch_records: 5
    flush_interval: 20ms
    heartbeat: 100ms
datasets:
  out: { from: items, fields: { id: integer } }
`);
  const make = () =>
    untilCaughtUp(
      createCdc.pull(pipeline.sources.items as never, { pipeline, name: 'items', ingestor: undefined as never, logger: h.logger }),
      pgs,
      id,
      `trib_${id}_items`,
    );
  // The first run creates the slot (an empty snapshot), so the records the suite adds are changes.
  await h.runOnce(make(), pipeline, 'items');
  let n = 0;
  return {
    pipeline,
    source: 'items',
    batch: 5,
    create: make,
    add: async (k) => {
      // One transaction per row, as an application writes them.
      for (let i = 0; i < k; i++) await pgs.query('INSERT INTO items VALUES ($1, $2)', [++n, `item ${n}`], id);
    },
    keyOf: (r) => String(r.id),
    expectedKeys: async () => Array.from({ length: n }, (_, i) => String(i + 1)),
  };
});

pullSourceConformance('postgres_poll', async (h, id) => {
  const pgs = await pollServer();
  const url = await pgs.createDatabase(id);
  await pgs.query('CREATE TABLE items (id int PRIMARY KEY, name text, updated_at timestamptz NOT NULL DEFAULT now())', [], id);
  process.env[`CONF_${id}`] = url;
  const pipeline = h.pipeline(`
pipeline: ${id}
connections:
  db: { kind: postgres, url: env:CONF_${id} }
sources:
  items:
    kind: postgres_poll
    connection: db
    table: items
    safety_lag: 0ms
    batch_records: 5
datasets:
  out: { from: items, fields: { id: integer } }
`);
  let n = 0;
  return {
    pipeline,
    source: 'items',
    batch: 5,
    create: () =>
      createPoll.pull(pipeline.sources.items as never, { pipeline, name: 'items', ingestor: undefined as never, logger: h.logger }),
    add: async (k) => {
      for (let i = 0; i < k; i++) await pgs.query('INSERT INTO items (id, name) VALUES ($1, $2)', [++n, `item ${n}`], id);
    },
    keyOf: (r) => String(r.id),
    expectedKeys: async () => Array.from({ length: n }, (_, i) => String(i + 1)),
  };
});

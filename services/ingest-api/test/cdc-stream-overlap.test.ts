/**
 * The CDC stream reads on while a batch is being published (docs/PERFORMANCE.md, Seventh round:
 * reading used to stop for the three round trips of every batch), and still tells PostgreSQL
 * about a transaction only after JetStream acknowledged it, batches published in order.
 */
import { PostgresServer, stopAll, waitFor } from '@tributary/testkit';
import { Registry } from 'prom-client';
import type { PullContext } from '../src/sources/pull-source';
import { slotLagGauge } from '../src/sources/pg/cdc-metrics';
import { streamChanges } from '../src/sources/pg/cdc-stream';
import { parseLsn } from '../src/sources/pg/lsn';
import { PullHarness } from './pull-harness';

let h: PullHarness;
let pg: PostgresServer;

beforeAll(async () => {
  h = await PullHarness.start();
  pg = await PostgresServer.start({ settings: { wal_level: 'logical', max_replication_slots: 4, max_wal_senders: 4 } });
});
afterAll(async () => {
  await h?.close();
  await stopAll();
});

it('reads the next changes while a batch waits for its PubAck, and confirms the slot only past acknowledged batches', async () => {
  const db = 'overlap';
  const url = await pg.createDatabase(db);
  await pg.query('CREATE TABLE items (id int PRIMARY KEY, name text); CREATE PUBLICATION pub FOR TABLE items', [], db);
  const [slot] = await pg.query<{ lsn: string }>(
    "SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot('s1', 'pgoutput')",
    [],
    db,
  );
  process.env.OVERLAP_DB_URL = url;
  const pipeline = h.pipeline(`
pipeline: overlap
connections:
  db: { kind: postgres, url: env:OVERLAP_DB_URL }
sources:
  items: { kind: postgres_cdc, connection: db, tables: [items], snapshot: never }
datasets:
  out: { from: items, fields: { id: integer } }
`);
  const abort = new AbortController();
  const base = await h.context(pipeline, 'items', { signal: abort.signal });
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const publishes: string[] = [];
  const ctx: PullContext = {
    ...base,
    publish: async (records, position, sourceTime) => {
      publishes.push(position);
      if (publishes.length === 1) await gate; // the first batch's PubAck is slow
      return base.publish(records, position, sourceTime);
    },
  };
  const read: number[] = [];
  const run = streamChanges({
    ctx,
    url,
    slot: 's1',
    publication: 'pub',
    batchRecords: 1,
    flushIntervalMs: 20,
    heartbeatMs: 60_000,
    resume: {},
    confirmed: parseLsn(slot!.lsn),
    save: async () => undefined,
    lag: slotLagGauge(new Registry()),
    // Called for every change read: shows how far the stream has read.
    resnapshots: {
      everyMs: 3_600_000,
      poll: async () => undefined,
      skips: (_table, _op, _lsn, row) => {
        read.push(row.id as number);
        return false;
      },
    },
  });
  const confirmed = async (): Promise<bigint> =>
    parseLsn(
      (
        await pg.query<{ lsn: string }>("SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = 's1'", [], db)
      )[0]!.lsn,
    );

  const [before] = await pg.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn', [], db);
  await pg.query("INSERT INTO items VALUES (1, 'a')", [], db);
  await waitFor(async () => publishes.length === 1, { timeoutMs: 20_000, what: 'the first batch to be published' });
  await pg.query("INSERT INTO items VALUES (2, 'b')", [], db);
  await pg.query("INSERT INTO items VALUES (3, 'c')", [], db);
  // Before, nothing was read until the first batch's publish returned.
  await waitFor(async () => read.length === 3 && read, {
    timeoutMs: 20_000,
    what: 'the stream to read on while the first batch is published',
  });
  expect(read).toEqual([1, 2, 3]);
  // The later batches wait their turn, and the slot has heard of nothing past the first transaction's start.
  expect(publishes).toHaveLength(1);
  expect(await confirmed()).toBeLessThanOrEqual(parseLsn(before!.lsn));

  release();
  const messages = await waitFor(
    async () => {
      const m = await h.env.raw('overlap', 'items');
      return m.length === 3 && m;
    },
    { timeoutMs: 20_000, what: 'the three batches in the raw stream' },
  );
  expect(messages.map((m) => m.records.map((r) => r.id))).toEqual([[1], [2], [3]]);
  expect(new Set(messages.map((m) => m.msgId)).size).toBe(3);
  const [after] = await pg.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn', [], db);
  // Once acknowledged, the slot moves past them (to the end of the last commit at least as far as `before` was).
  await waitFor(async () => (await confirmed()) > parseLsn(before!.lsn), {
    timeoutMs: 20_000,
    what: 'the slot to be confirmed past the batches',
  });
  expect(await confirmed()).toBeLessThanOrEqual(parseLsn(after!.lsn));
  abort.abort();
  await run;
});

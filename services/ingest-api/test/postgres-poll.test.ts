/**
 * postgres_poll against a private PostgreSQL while concurrent writers update rows (many sharing
 * one updated_at, some in transactions held open while the poller runs), with a SIGKILL and restart
 * of the ingest-api: every row's latest version arrives, none is published twice, versions of a
 * row arrive in order.
 */
import { PostgresServer, stopAll, waitFor } from '@tributary/testkit';
import { Client } from 'pg';
import { SourceEnv } from './source-env';

afterAll(stopAll);

const PIPELINE = `
pipeline: shop
connections:
  shop_db: { kind: postgres, url: env:SHOP_DB_URL }
sources:
  orders:
    kind: postgres_poll
    connection: shop_db
    table: public.orders
    schedule: { every: 100ms }
    safety_lag: 0ms
    batch_records: 7
datasets:
  order_rows:
    from: orders
    fields: { id: integer }
`;

describe('postgres_poll source', () => {
  let pg: PostgresServer;
  let env: SourceEnv;
  let url: string;

  beforeAll(async () => {
    [pg, env] = await Promise.all([PostgresServer.start(), SourceEnv.start()]);
    url = await pg.createDatabase('shop');
    await pg.query(
      `CREATE SEQUENCE versions;
       CREATE TABLE orders (id int PRIMARY KEY, v bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
       INSERT INTO orders SELECT g, nextval('versions'), now() FROM generate_series(1, 30) g;`,
      [],
      'shop',
    );
  });
  afterAll(async () => {
    await env?.close();
  });

  /** A writer: transactions that touch 3 rows at one now(); every fourth is held open a while. */
  async function writer(seed: number, txns: number): Promise<void> {
    const db = new Client({ connectionString: url });
    await db.connect();
    try {
      for (let i = 0; i < txns; i++) {
        await db.query('BEGIN');
        for (let j = 0; j < 3; j++) {
          const id = 1 + ((seed * 31 + i * 7 + j * 13) % 45);
          await db.query(
            `INSERT INTO orders (id, v) VALUES ($1, nextval('versions'))
             ON CONFLICT (id) DO UPDATE SET v = nextval('versions'), updated_at = now()`,
            [id],
          );
        }
        if (i % 4 === 0) await db.query('SELECT pg_sleep(0.15)'); // still open while the poller runs
        await db.query('COMMIT');
      }
    } finally {
      await db.end();
    }
  }

  it('publishes every row version it sees once, misses no latest version, across a SIGKILL', async () => {
    env.writePipeline('shop', PIPELINE);
    let ingest = await env.spawnIngest({ SHOP_DB_URL: url });
    const writers = Promise.all([writer(1, 40), writer(2, 40), writer(3, 40)]);
    await waitFor(async () => (await env.raw('shop', 'orders')).length >= 5, { timeoutMs: 20_000, what: 'first polled pages' });
    ingest.proc.kill('SIGKILL');
    await ingest.proc.exited;
    ingest = await env.spawnIngest({ SHOP_DB_URL: url });
    await writers;

    const latest = await pg.query<{ id: number; v: string }>('SELECT id, v::text AS v FROM orders ORDER BY id', [], 'shop');
    const records = await waitFor(
      async () => {
        const recs = (await env.raw('shop', 'orders')).flatMap((m) => m.records);
        const seen = new Set(recs.map((r) => `${String(r.id)}:${String(r.v)}`));
        return latest.every((row) => seen.has(`${row.id}:${row.v}`)) ? recs : undefined;
      },
      { timeoutMs: 30_000, what: 'the latest version of every row' },
    );

    const versions = records.map((r) => `${String(r.id)}:${String(r.v)}`);
    expect(new Set(versions).size).toBe(versions.length); // nothing published twice
    const last = new Map<number, number>();
    for (const r of records) {
      expect(Number(r.v)).toBeGreaterThan(last.get(Number(r.id)) ?? 0);
      last.set(Number(r.id), Number(r.v));
    }
    expect(last.size).toBe(latest.length);
    expect(records[0]).toMatchObject({ _table: 'public.orders', _op: 'upsert' });
    expect(String(records[0]!._commit_at)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    await ingest.proc.stop();
  });
});

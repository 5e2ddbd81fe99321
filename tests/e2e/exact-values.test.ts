/**
 * Exact values from source to warehouse, through the whole stack: a PostgreSQL source
 * (wal_level=logical) captured by `postgres_cdc` (snapshot rows and streamed changes) and a push
 * source sending JSON numbers no double holds. `numeric(13,2)` amounts, microsecond timestamps,
 * dates and 64-bit integers beyond 2^53 must read back byte for byte, and a window's sum over
 * decimals must be the exact decimal sum (0.10 + 0.20 = 0.30, not 0.30000000000000004).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PostgresServer, waitFor } from '@tributary/testkit';
import { Client } from 'pg';
import { Stack } from './stack';

jest.setTimeout(240_000);

const PIPELINE = `
pipeline: ledger
connections:
  books: { kind: postgres, url: env:BOOKS_DB_URL }
sources:
  books_db:
    kind: postgres_cdc
    connection: books
    tables: [payments]
    flush_interval: 50ms
    heartbeat: 500ms
  manual: { kind: push }
datasets:
  payments:
    from: [books_db, manual]
    fields:
      id: { type: integer, required: true }
      amount: { type: decimal, precision: 13, scale: 2 }
      paid_at: timestamp
      day: date
      big: integer
  daily:
    from: payments
    steps:
      - window:
          tumbling: 1d
          time: paid_at
          key: [day]
          aggregate:
            total: sum(amount)
            smallest: min(amount)
            mean: avg(amount)
tables:
  payments: { from: payments, mode: upsert, key: [id] }
  daily: { from: daily, mode: aggregate }
`;

let source: PostgresServer;
let db: Client;
let stack: Stack;

beforeAll(async () => {
  source = await PostgresServer.start({ settings: { wal_level: 'logical', max_replication_slots: 4, max_wal_senders: 4 } });
  const url = await source.createDatabase('books');
  db = new Client({ connectionString: url });
  await db.connect();
  await db.query(`
    CREATE TABLE payments (id bigint PRIMARY KEY, amount numeric(13,2), paid_at timestamptz, day date, big bigint);
    INSERT INTO payments VALUES
      (1, 0.10, '2026-12-06 10:11:12.345678+00', '2026-12-06', 9007199254740993),
      (2, 0.20, '2026-12-06 10:11:12.000001+00', '2026-12-06', -9223372036854775808);`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-exact-'));
  const file = path.join(dir, 'ledger.yaml');
  writeFileSync(file, PIPELINE);
  stack = await Stack.start({
    pipelines: file,
    env: { BOOKS_DB_URL: url, MONITOR_ALERT_INTERVAL: '500ms', MONITOR_ALERT_FOR: '1s', MONITOR_ALERT_SLOT_LAG: '3s' },
  });
});
afterAll(async () => {
  await db?.end().catch(() => undefined);
  await stack?.stopAll();
  await source?.cleanup();
});

describe('exact values from the source to the warehouse', () => {
  it('lands decimals, microsecond timestamps, dates and int64 byte-exact, and sums decimals exactly', async () => {
    // Streamed after the snapshot: an amount at the top of numeric(13,2).
    await db.query(`INSERT INTO payments VALUES (3, 99999999999.99, '2026-12-07 00:00:00.5+00', '2026-12-07', 9223372036854775807)`);
    // Pushed JSON: numbers no double holds arrive as their digits.
    const pushed = await stack.push(
      'manual',
      '{"id": 4, "amount": 12345678901.23, "paid_at": "2026-12-06T12:11:12.345678+02:00", "day": "2026-12-06", "big": 1234567890123456789}',
      { 'idempotency-key': 'exact-1' },
      'ledger',
    );
    expect(pushed.status).toBe(202);

    const rows = await waitFor(
      async () => {
        const r = await stack.query(
          `SELECT id::text, amount::text, to_char(paid_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS paid_at, day::text, big::text
             FROM warehouse.payments ORDER BY id`,
        );
        return r.length === 4 ? r : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'four payments in the warehouse' },
    );
    expect(rows).toEqual([
      { id: '1', amount: '0.10', paid_at: '2026-12-06 10:11:12.345678', day: '2026-12-06', big: '9007199254740993' },
      { id: '2', amount: '0.20', paid_at: '2026-12-06 10:11:12.000001', day: '2026-12-06', big: '-9223372036854775808' },
      { id: '3', amount: '99999999999.99', paid_at: '2026-12-07 00:00:00.500000', day: '2026-12-07', big: '9223372036854775807' },
      { id: '4', amount: '12345678901.23', paid_at: '2026-12-06 10:11:12.345678', day: '2026-12-06', big: '1234567890123456789' },
    ]);
    const types = await stack.query(
      `SELECT column_name, format_type(atttypid, atttypmod) AS type FROM information_schema.columns c
         JOIN pg_attribute a ON a.attrelid = 'warehouse.payments'::regclass AND a.attname = c.column_name
        WHERE table_schema = 'warehouse' AND table_name = 'payments' AND column_name IN ('amount', 'paid_at', 'day', 'big') ORDER BY 1`,
    );
    expect(types).toEqual([
      { column_name: 'amount', type: 'numeric(13,2)' },
      { column_name: 'big', type: 'bigint' },
      { column_name: 'day', type: 'date' },
      { column_name: 'paid_at', type: 'timestamp with time zone' },
    ]);

    // The window over decimals: exact sums, min and the sum behind the average.
    const daily = await waitFor(
      async () => {
        const r = await stack.query(
          `SELECT day::text, total::text, smallest::text, mean_sum::text AS mean_sum, mean_count FROM warehouse.daily ORDER BY day`,
        );
        return r.length === 2 && r[0]!.mean_count === '3' ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the daily window rows' },
    );
    expect(daily).toEqual([
      { day: '2026-12-06', total: '12345678901.53', smallest: '0.10', mean_sum: '12345678901.53', mean_count: '3' },
      { day: '2026-12-07', total: '99999999999.99', smallest: '99999999999.99', mean_sum: '99999999999.99', mean_count: '1' },
    ]);
  });

  it('shows, exports and alerts on the replication slot lag read from the source database while the ingest-api is down', async () => {
    const slotOf = async () =>
      ((await stack.status('ledger')).source_slots as { source: string; lag_bytes: number | null; lag_seconds: number | null }[])[0]!;
    // Caught up first: the ingest-api streams and confirms.
    await waitFor(async () => ((await slotOf()).lag_seconds! < 2 ? true : undefined), { timeoutMs: 30_000, what: 'the slot caught up' });
    await stack.stop('ingest-api');
    await db.query(`INSERT INTO payments VALUES (5, 1.00, now(), current_date, 5)`);
    const behind = await waitFor(
      async () => {
        const s = await slotOf();
        return s.lag_bytes! > 0 && s.lag_seconds! > 3 ? s : undefined;
      },
      { timeoutMs: 30_000, what: 'the monitor to see the slot fall behind' },
    );
    expect(behind).toMatchObject({ source: 'books_db', slot: 'trib_ledger_books_db' });
    const metrics = await (await fetch(`${stack.url('monitor')}/metrics`)).text();
    expect(metrics).toMatch(
      /tributary_source_slot_lag_bytes\{pipeline="ledger",source="books_db",slot="trib_ledger_books_db"[^}]*\} [1-9]\d*/,
    );
    expect(metrics).toMatch(/tributary_source_slot_lag_seconds\{pipeline="ledger",source="books_db",slot="trib_ledger_books_db"[^}]*\} \d/);
    const firing = await waitFor(
      async () => {
        const a = (await (await fetch(`${stack.url('monitor')}/api/alerts`)).json()) as {
          active: { alert: string; state: string; labels: Record<string, string> }[];
        };
        return a.active.find((x) => x.alert === 'TributarySlotLag' && x.state === 'firing');
      },
      { timeoutMs: 30_000, what: 'TributarySlotLag firing' },
    );
    expect(firing.labels).toMatchObject({ pipeline: 'ledger', source: 'books_db' });
    // The ingest-api back: the slot catches up and the row lands.
    await stack.startService('ingest-api');
    await waitFor(async () => ((await slotOf()).lag_seconds! < 2 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the slot caught up again',
    });
    const [row] = await waitFor(
      async () => {
        const r = await stack.query(`SELECT amount::text FROM warehouse.payments WHERE id = 5`);
        return r.length ? r : undefined;
      },
      { timeoutMs: 30_000, what: 'the row written while the ingest-api was down' },
    );
    expect(row).toEqual({ amount: '1.00' });
  });
});

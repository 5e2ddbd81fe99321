/**
 * The operational database a chaos run captures with `postgres_cdc`: a private PostgreSQL with
 * `wal_level=logical` holding `accounts` (updated in place, a version per change) and `transfers`
 * (insert only), and a writer that runs one business transaction after another (insert a
 * transfer, move the account's balance, now and then open an account) until stopped, reconnecting
 * through crashes of this server. What the warehouse must hold afterwards is read back from the
 * tables themselves, so a transaction whose COMMIT was cut off is judged by what PostgreSQL kept.
 */
import { PostgresServer } from '@tributary/testkit';
import { Client } from 'pg';

/** Accounts present before capture starts: they arrive as the initial snapshot. */
export const SEEDED_ACCOUNTS = 40;

/** A private source database and its writer. */
export class BankDatabase {
  private writing?: Promise<void>;
  private stopWriting = false;
  /** Transactions committed (as far as the writer knows) and failed attempts. */
  committed = 0;
  failed = 0;

  private constructor(
    readonly server: PostgresServer,
    readonly url: string,
  ) {}

  /** Starts the server, creates the tables and seeds the accounts. */
  static async start(): Promise<BankDatabase> {
    const server = await PostgresServer.start({ settings: { wal_level: 'logical', max_replication_slots: 4, max_wal_senders: 4 } });
    const url = await server.createDatabase('bank');
    const db = new BankDatabase(server, url);
    await db.sql(`
      CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance bigint NOT NULL, version int NOT NULL,
                             updated_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE transfers (id bigserial PRIMARY KEY, account_id int NOT NULL REFERENCES accounts, amount bigint NOT NULL,
                              created_at timestamptz NOT NULL DEFAULT now());
      INSERT INTO accounts (id, owner, balance, version) SELECT g, 'owner ' || g, 1000, 1 FROM generate_series(1, ${SEEDED_ACCOUNTS}) g;`);
    return db;
  }

  /** Runs SQL on a short-lived connection. */
  async sql<R extends Record<string, any> = Record<string, any>>(text: string, params: unknown[] = []): Promise<R[]> {
    const client = new Client({ connectionString: this.url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Starts the writer: a transaction every `pauseMs`, driven by `random`. */
  startWriter(random: () => number, pauseMs = 15): void {
    this.stopWriting = false;
    this.writing = this.writeLoop(random, pauseMs);
  }

  /** Stops the writer after the transaction in hand. */
  async stopWriter(): Promise<void> {
    this.stopWriting = true;
    await this.writing;
  }

  private async writeLoop(random: () => number, pauseMs: number): Promise<void> {
    let client: Client | undefined;
    while (!this.stopWriting) {
      try {
        if (!client) {
          const c = new Client({ connectionString: this.url, connectionTimeoutMillis: 5_000 });
          c.on('error', () => undefined); // a crash of the server surfaces as the next query's error
          await c.connect();
          client = c;
        }
        await client.query('BEGIN');
        let account = 1 + Math.floor(random() * SEEDED_ACCOUNTS);
        if (random() < 0.05) {
          const [{ id }] = (
            await client.query<{ id: number }>(
              `INSERT INTO accounts (id, owner, balance, version) SELECT coalesce(max(id), 0) + 1, 'owner', 0, 1 FROM accounts RETURNING id`,
            )
          ).rows as [{ id: number }];
          account = id;
        }
        const amount = 1 + Math.floor(random() * 500);
        await client.query('INSERT INTO transfers (account_id, amount) VALUES ($1, $2)', [account, amount]);
        await client.query('UPDATE accounts SET balance = balance + $2, version = version + 1, updated_at = now() WHERE id = $1', [
          account,
          amount,
        ]);
        await client.query('COMMIT');
        this.committed++;
      } catch {
        this.failed++;
        await client?.end().catch(() => undefined);
        client = undefined;
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    await client?.end().catch(() => undefined);
  }

  /** The position of the newest WAL record now (after the last write once the writer stopped). */
  async walLsn(): Promise<string> {
    const [row] = await this.sql<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    return row!.lsn;
  }

  /** The slot's confirmed position and whether it is at or past `lsn`. */
  async slotReached(slot: string, lsn: string): Promise<{ confirmed: string | null; reached: boolean }> {
    const [row] = await this.sql<{ confirmed: string | null; reached: boolean | null }>(
      `SELECT confirmed_flush_lsn::text AS confirmed, confirmed_flush_lsn >= $2::pg_lsn AS reached
         FROM pg_replication_slots WHERE slot_name = $1`,
      [slot, lsn],
    );
    return { confirmed: row?.confirmed ?? null, reached: row?.reached === true };
  }

  /** Stops the writer and the server. */
  async close(): Promise<void> {
    await this.stopWriter();
    await this.server.cleanup();
  }
}

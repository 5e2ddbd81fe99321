/**
 * Makes a running PostgreSQL refuse connections for a while, the way an operator's access change,
 * a failover or a connection-limit storm looks to clients: `pg_hba.conf` is switched to reject
 * every TCP client and reloaded (SIGHUP to the postmaster), and every existing client session is
 * terminated, so nothing gets in or stays in. The server itself keeps running (unlike a crash,
 * WAL and caches stay warm); the test keeps its way in over the unix socket. `restore()` puts the
 * original rules back and waits until TCP clients get in again.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PostgresServer, waitFor } from '@tributary/testkit';
import { Client } from 'pg';

const REJECT_ALL_TCP = `# chaos: every TCP client is refused; the unix socket stays open for the test
local all all trust
host all all 0.0.0.0/0 reject
host all all ::/0 reject
`;

/** Connects over TCP as the services do; resolves with the SQLSTATE of a refusal, or 'ok'. */
async function tcpLogin(pg: PostgresServer): Promise<string> {
  const client = new Client({ connectionString: pg.url('postgres'), connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return 'ok';
  } catch (err) {
    return String((err as { code?: string }).code ?? (err as Error).message);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs one statement over the unix socket (never refused). */
async function overSocket(pg: PostgresServer, sql: string): Promise<number> {
  const client = new Client({ host: pg.socketDir, port: pg.port, user: 'postgres', database: 'postgres' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql)).rowCount ?? 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Reloads the server's configuration files. */
function reload(pg: PostgresServer): void {
  if (pg.pid === undefined) throw new Error('PostgreSQL is not running');
  process.kill(pg.pid, 'SIGHUP');
}

/** A refusal in force; `restore()` ends it. */
export class PgRefusal {
  private constructor(
    private readonly pg: PostgresServer,
    private readonly original: string,
    /** Client sessions terminated when the refusal began. */
    readonly terminated: number,
  ) {}

  /** Starts refusing: TCP logins fail with SQLSTATE 28000 and every client session is ended. */
  static async begin(pg: PostgresServer): Promise<PgRefusal> {
    const file = join(pg.dataDir, 'pg_hba.conf');
    const original = readFileSync(file, 'utf8');
    // Writing in place keeps the file's owner (the postgres user when the test runs as root).
    writeFileSync(file, REJECT_ALL_TCP);
    try {
      reload(pg);
      await waitFor(async () => (await tcpLogin(pg)) === '28000', { timeoutMs: 30_000, what: 'TCP logins to be refused' });
      const terminated = await overSocket(
        pg,
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      return new PgRefusal(pg, original, terminated);
    } catch (err) {
      writeFileSync(file, original);
      reload(pg);
      throw err;
    }
  }

  /** Accepts TCP clients again. */
  async restore(): Promise<void> {
    writeFileSync(join(this.pg.dataDir, 'pg_hba.conf'), this.original);
    reload(this.pg);
    await waitFor(async () => (await tcpLogin(this.pg)) === 'ok', { timeoutMs: 30_000, what: 'TCP logins to be accepted again' });
  }
}

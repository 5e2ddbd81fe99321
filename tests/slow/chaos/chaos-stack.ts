/**
 * The system a chaos or soak run exercises: the whole Tributary stack (tests/e2e/stack.ts) running
 * three pipelines at once — `traffic` (push + generator, pipelines/traffic.yaml with a short SLA),
 * `ledger` (postgres_cdc from a second, operational PostgreSQL) and `catalog` (a paged REST API)
 * — plus a webhook receiving the monitor's alert notifications. Alert timings are shortened
 * through configuration (a 1 s `for`, a 20 s rule window, replicas missing after 6 s and forgotten after 20 s) so
 * alerts fire and resolve within a run.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { HttpReceiver } from '../../e2e/alert-receivers';
import { Stack } from '../../e2e/stack';
import { waitFor } from '@tributary/testkit';
import { BankDatabase, SEEDED_ACCOUNTS } from './bank-database';
import { PagedApi } from './paged-api';

const ROOT = path.resolve(__dirname, '../../..');

/** The replication slot of the ledger pipeline's CDC source (`trib_<pipeline>_<source>`). */
export const LEDGER_SLOT = 'trib_ledger_bank';

/** Pipeline folder of a run: traffic with a short SLA, the chaos pipelines, the schemas they use. */
function pipelineFolder(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'trib-chaos-'));
  cpSync(path.join(ROOT, 'pipelines/schemas'), path.join(dir, 'schemas'), { recursive: true });
  const traffic = readFileSync(path.join(ROOT, 'pipelines/traffic.yaml'), 'utf8').replace(/freshness: \S+/, 'freshness: 5s');
  writeFileSync(path.join(dir, 'traffic.yaml'), traffic);
  for (const f of ['ledger.yaml', 'catalog.yaml']) cpSync(path.join(__dirname, 'pipelines', f), path.join(dir, f));
  return dir;
}

/** A running chaos system. */
export class ChaosStack {
  private constructor(
    readonly stack: Stack,
    readonly bank: BankDatabase,
    readonly api: PagedApi,
    readonly webhook: HttpReceiver,
    /** The pipeline folder the services read (TRIBUTARY_PIPELINES). */
    readonly dir: string,
  ) {}

  /** Starts the source database, the API, the webhook and the stack (generators on); resolves once the CDC snapshot is loaded. */
  static async start(env: Record<string, string> = {}): Promise<ChaosStack> {
    const dir = pipelineFolder();
    const [bank, api, webhook] = await Promise.all([BankDatabase.start(), PagedApi.start(), HttpReceiver.start()]);
    try {
      const stack = await Stack.start({
        pipelines: dir,
        env: {
          INGEST_GENERATORS: 'true',
          // The soak runs for an hour: its generators must not stop after their default 15 minutes.
          GENERATOR_DURATION: 'unbounded',
          LOG_LEVEL: 'warn',
          CHAOS_BANK_DB_URL: bank.url,
          CHAOS_CATALOG_API_URL: api.url,
          // A killed ingest-api's pull sources move to its successor after this long.
          INGEST_LEASE_TTL_MS: '3000',
          MONITOR_ALERT_INTERVAL: '500ms',
          MONITOR_ALERT_FOR: '1s',
          // The DLQ-growth rule (1% of the pushed passages are invalid) resolves this long after the load stops.
          MONITOR_ALERT_WINDOW: '20s',
          MONITOR_ALERT_WEBHOOKS: `${webhook.url}/hooks/chaos`,
          MONITOR_REPLICA_TIMEOUT: '6s',
          MONITOR_REPLICA_FORGET: '20s',
          ...env,
        },
      });
      const sys = new ChaosStack(stack, bank, api, webhook, dir);
      // The bank's seeded accounts arrive as the initial snapshot; the load starts once it is
      // loaded, so every account version from 1 on goes through the stream.
      await waitFor(async () => (await sys.warehouse('SELECT count(*)::int AS n FROM warehouse.dim_account'))[0]!.n === SEEDED_ACCOUNTS, {
        timeoutMs: 120_000,
        intervalMs: 500,
        what: 'the initial CDC snapshot in the warehouse',
      });
      return sys;
    } catch (err) {
      await Promise.all([bank.close(), api.close(), webhook.close()]);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Runs SQL on the warehouse over a connection of its own: the stack's cached client would be
   * dead after the faults (crash, refusal) that end every session.
   */
  async warehouse<R extends Record<string, any> = Record<string, any>>(sql: string, params: unknown[] = []): Promise<R[]> {
    const client = new Client({ connectionString: this.stack.databaseUrl, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** The last lines of every service's log, each cut to a readable length. */
  logTails(lines = 12): string {
    return [...this.stack.procs]
      .map(
        ([name, p]) =>
          `--- ${name} log tail ---\n${p
            .logTail(lines)
            .split('\n')
            .map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l))
            .join('\n')}`,
      )
      .join('\n');
  }

  /** Stops everything and removes the pipeline folder. */
  async stopAll(): Promise<void> {
    await this.stack.stopAll();
    await Promise.all([this.bank.close(), this.api.close(), this.webhook.close()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

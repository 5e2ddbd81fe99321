/**
 * A whole Tributary stack for black-box tests: private NATS and PostgreSQL, `migrate`, and the
 * four services as child processes running their compiled `dist/main.js` (so `npm test` builds first).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, NatsServer, PostgresServer, spawnService, type ServiceProcess } from '@tributary/testkit';
import { Client } from 'pg';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/** Service names and their port variables. */
export const SERVICES = {
  'ingest-api': 'INGEST_PORT',
  transformer: 'TRANSFORMER_PORT',
  loader: 'LOADER_PORT',
  monitor: 'MONITOR_PORT',
} as const;

/** A service name. */
export type ServiceName = keyof typeof SERVICES;

/** A running stack. */
export class Stack {
  readonly procs = new Map<ServiceName, ServiceProcess>();
  readonly ports = new Map<ServiceName, number>();
  private db?: Client;
  private serviceEnv: Partial<Record<ServiceName | 'migrate', Record<string, string>>> = {};

  private constructor(
    readonly nats: NatsServer,
    readonly pg: PostgresServer,
    readonly databaseUrl: string,
    readonly env: Record<string, string>,
  ) {}

  /** Starts NATS, PostgreSQL, runs migrate, and starts the given services (all by default). */
  static async start(
    opts: {
      pipelines?: string;
      env?: Record<string, string>;
      services?: ServiceName[];
      /** nats-server configuration text (e.g. users and permissions). */
      natsConfig?: string;
      /** Extra environment per service (e.g. its NATS credentials, or its own DATABASE_URL). */
      serviceEnv?: Partial<Record<ServiceName | 'migrate', Record<string, string>>>;
      /** Runs before migrate, e.g. to create the database user migrate runs as; returns extra environment for migrate. */
      beforeMigrate?: (pg: PostgresServer) => Promise<Record<string, string>>;
      /** Arguments after `migrate` (e.g. `--roles`). */
      migrateArgs?: string[];
    } = {},
  ): Promise<Stack> {
    const [nats, pg] = await Promise.all([
      NatsServer.start(opts.natsConfig ? { configExtra: opts.natsConfig } : {}),
      PostgresServer.start(),
    ]);
    const databaseUrl = pg.url('tributary');
    const env = {
      NATS_URL: nats.url,
      DATABASE_URL: databaseUrl,
      TRIBUTARY_PIPELINES: opts.pipelines ?? path.join(ROOT, 'pipelines/traffic.yaml'),
      INGEST_GENERATORS: 'false',
      LOG_LEVEL: 'info',
      // Tests poll the monitor right after acting; a cached status snapshot would be stale.
      MONITOR_REFRESH: '0ms',
      ...opts.env,
    };
    const stack = new Stack(nats, pg, databaseUrl, env);
    stack.serviceEnv = opts.serviceEnv ?? {};
    const migrateEnv = { ...stack.serviceEnv.migrate, ...(await opts.beforeMigrate?.(pg)) };
    await stack.cli(['migrate', ...(opts.migrateArgs ?? [])], migrateEnv);
    for (const s of opts.services ?? (Object.keys(SERVICES) as ServiceName[])) await stack.startService(s);
    return stack;
  }

  /** Runs the `tributary` CLI with the stack's environment. */
  async cli(args: string[], extraEnv: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
    return runCli(args, { ...this.env, ...extraEnv });
  }

  /** Starts (or restarts) a service on its port and waits until it is ready. */
  async startService(name: ServiceName, extraEnv: Record<string, string> = {}): Promise<ServiceProcess> {
    const port = this.ports.get(name) ?? (await freePort());
    this.ports.set(name, port);
    const proc = await spawnService({
      name,
      script: path.join(ROOT, 'services', name, 'dist/main.js'),
      env: { ...this.env, ...this.serviceEnv[name], ...extraEnv, [SERVICES[name]]: String(port) },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
      readyTimeoutMs: 60_000,
    });
    this.procs.set(name, proc);
    return proc;
  }

  /** SIGKILLs a service and waits for it to be gone. */
  async kill(name: ServiceName): Promise<void> {
    const p = this.procs.get(name);
    if (!p) return;
    p.kill('SIGKILL');
    await p.exited;
    await p.cleanup({ keepLog: true });
  }

  /** Stops a service gracefully (SIGTERM) and returns its exit code. */
  async stop(name: ServiceName): Promise<number | null> {
    const p = this.procs.get(name);
    if (!p) return null;
    const code = await p.stop();
    await p.cleanup({ keepLog: true });
    return code;
  }

  /** Base URL of a service. */
  url(name: ServiceName): string {
    return `http://127.0.0.1:${this.ports.get(name)}`;
  }

  /** POSTs records to a push source. */
  async push(
    source: string,
    body: string,
    headers: Record<string, string> = {},
    pipeline = 'traffic',
  ): Promise<{ status: number; json: any; headers: Headers }> {
    return pushRecords(this.url('ingest-api'), source, body, headers, pipeline);
  }

  /** The monitor's view of one pipeline. */
  async status(pipeline = 'traffic'): Promise<any> {
    return monitorStatus(this.url('monitor'), pipeline);
  }

  /** Runs SQL against the warehouse database. */
  async query<T extends Record<string, unknown> = Record<string, any>>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (!this.db) {
      this.db = new Client({ connectionString: this.databaseUrl });
      await this.db.connect();
    }
    return (await this.db.query<T>(sql, params)).rows;
  }

  /** Stops everything. */
  async stopAll(): Promise<void> {
    await this.db?.end().catch(() => undefined);
    this.db = undefined;
    for (const [, p] of this.procs) await p.cleanup().catch(() => undefined);
    await this.nats.cleanup().catch(() => undefined);
    await this.pg.cleanup().catch(() => undefined);
  }
}

/** Runs the `tributary` CLI (`apps/cli/dist/cli.js`) with `env` over this process's environment. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [path.join(ROOT, 'apps/cli/dist/cli.js'), ...args], { env: { ...process.env, ...env }, cwd: ROOT });
}

/** POSTs NDJSON records to a push source of the ingest API at `ingestUrl`. */
export async function pushRecords(
  ingestUrl: string,
  source: string,
  body: string,
  headers: Record<string, string> = {},
  pipeline = 'traffic',
): Promise<{ status: number; json: any; headers: Headers }> {
  const r = await fetch(`${ingestUrl}/v1/pipelines/${pipeline}/sources/${source}/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', ...headers },
    body,
  });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, json, headers: r.headers };
}

/** A pipeline's status from the monitor at `monitorUrl`, with the monitor's own fold lag. */
export async function monitorStatus(monitorUrl: string, pipeline = 'traffic'): Promise<any> {
  const r = await fetch(`${monitorUrl}/api/pipelines/${pipeline}`);
  if (r.status !== 200) throw new Error(`monitor answered ${r.status}: ${await r.text()}`);
  const body = (await r.json()) as {
    pipeline: Record<string, unknown>;
    monitor_lag: Record<string, { pending: number | null; ack_pending: number | null }>;
  };
  return { ...body.pipeline, monitor_lag: body.monitor_lag };
}

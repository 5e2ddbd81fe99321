/**
 * A Tributary stack on a JetStream cluster: a private three-node {@link NatsCluster}, PostgreSQL,
 * `migrate` with replicated streams (`TRIBUTARY_STREAM_REPLICAS`), and several replicas of every
 * service as child processes. Each service gets every NATS server in `NATS_URL` (so it fails over
 * when one dies); the monitors also get the servers' monitoring endpoints for the meta leader.
 */
import path from 'node:path';
import { freePort, NatsCluster, PostgresServer, spawnService, type ServiceProcess } from '@tributary/testkit';
import { Client } from 'pg';
import { monitorStatus, pushRecords, runCli, SERVICES, type ServiceName } from './stack';

const ROOT = path.resolve(__dirname, '../..');

/** Options of {@link ClusterStack.start}. */
export interface ClusterStackOptions {
  /** Pipelines (`TRIBUTARY_PIPELINES`); the traffic example unless told. */
  pipelines?: string;
  /** Replicas of each service; 2 unless told. */
  replicas?: number;
  /** Stream replicas migrate creates; the cluster size (3) unless told. */
  streamReplicas?: number;
  /** Extra environment of every service and of migrate. */
  env?: Record<string, string>;
}

/** A running clustered stack. */
export class ClusterStack {
  /** The replicas of each service, in start order. */
  readonly procs = new Map<ServiceName, ServiceProcess[]>();
  private readonly ports = new Map<ServiceName, number[]>();
  private db?: Client;

  private constructor(
    readonly nats: NatsCluster,
    readonly pg: PostgresServer,
    readonly env: Record<string, string>,
  ) {}

  /** Starts the cluster and PostgreSQL, runs migrate, then every replica of every service in parallel. */
  static async start(opts: ClusterStackOptions = {}): Promise<ClusterStack> {
    const [nats, pg] = await Promise.all([NatsCluster.start(), PostgresServer.start()]);
    const env = {
      NATS_URL: nats.url,
      NATS_MONITOR_URLS: nats.nodes.map((n) => n.monitorUrl).join(','),
      DATABASE_URL: pg.url('tributary'),
      TRIBUTARY_PIPELINES: opts.pipelines ?? path.join(ROOT, 'pipelines/traffic.yaml'),
      TRIBUTARY_STREAM_REPLICAS: String(opts.streamReplicas ?? nats.nodes.length),
      INGEST_GENERATORS: 'false',
      LOG_LEVEL: 'warn',
      // Tests poll the monitor right after acting; a cached status snapshot would be stale.
      MONITOR_REFRESH: '0ms',
      ...opts.env,
    };
    const stack = new ClusterStack(nats, pg, env);
    try {
      await runCli(['migrate'], env);
      const replicas = opts.replicas ?? 2;
      await Promise.all(
        (Object.keys(SERVICES) as ServiceName[]).flatMap((s) => Array.from({ length: replicas }, (_, i) => stack.startReplica(s, i))),
      );
    } catch (err) {
      await stack.stopAll();
      throw err;
    }
    return stack;
  }

  /** Starts replica `i` of a service on its own port and waits until it is ready. */
  async startReplica(name: ServiceName, i: number): Promise<ServiceProcess> {
    // Replicas start in parallel: take the shared arrays before the first await.
    const ports = this.ports.get(name) ?? [];
    this.ports.set(name, ports);
    const procs = this.procs.get(name) ?? [];
    this.procs.set(name, procs);
    ports[i] ??= await freePort();
    const proc = await spawnService({
      name: `${name}-${i + 1}`,
      script: path.join(ROOT, 'services', name, 'dist/main.js'),
      env: { ...this.env, [SERVICES[name]]: String(ports[i]) },
      readyUrl: `http://127.0.0.1:${ports[i]}/readyz`,
      readyTimeoutMs: 90_000,
    });
    procs[i] = proc;
    return proc;
  }

  /** Base URL of replica `i` of a service. */
  url(name: ServiceName, i = 0): string {
    const port = this.ports.get(name)?.[i];
    if (port === undefined) throw new Error(`no replica ${i} of ${name}`);
    return `http://127.0.0.1:${port}`;
  }

  /** POSTs NDJSON records to a push source through ingest replica `i`. */
  push(i: number, source: string, body: string, headers: Record<string, string> = {}, pipeline = 'traffic') {
    return pushRecords(this.url('ingest-api', i), source, body, headers, pipeline);
  }

  /** A pipeline's status as monitor replica `i` sees it. */
  status(i = 0, pipeline = 'traffic'): Promise<any> {
    return monitorStatus(this.url('monitor', i), pipeline);
  }

  /** `/api/cluster` of monitor replica `i`. */
  async cluster(i = 0): Promise<any> {
    const r = await fetch(`${this.url('monitor', i)}/api/cluster`);
    if (r.status !== 200) throw new Error(`monitor answered ${r.status}: ${await r.text()}`);
    return r.json();
  }

  /** Runs SQL against the warehouse database. */
  async query<T extends Record<string, unknown> = Record<string, any>>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (!this.db) {
      this.db = new Client({ connectionString: this.env.DATABASE_URL });
      await this.db.connect();
    }
    return (await this.db.query<T>(sql, params)).rows;
  }

  /** Stops every service, the cluster and PostgreSQL. */
  async stopAll(): Promise<void> {
    await this.db?.end().catch(() => undefined);
    this.db = undefined;
    await Promise.all([...this.procs.values()].flat().map((p) => p.cleanup().catch(() => undefined)));
    await this.nats.cleanup().catch(() => undefined);
    await this.pg.cleanup().catch(() => undefined);
  }
}

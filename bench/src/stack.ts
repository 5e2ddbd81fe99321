/**
 * The services of one bench scenario as separate processes (ingest-api, transformer and loader,
 * some of them in several replicas, and the monitor when a scenario opens reports) against the run's NATS and PostgreSQL, with what the
 * scenarios measure on them: CPU seconds and peak RSS per process, HTTP pushes, row counts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, spawnService, type ServiceProcess } from '@tributary/testkit';
import type { Client } from 'pg';
import { cpuSeconds, peakRssMiB } from './proc-stats';

export const ROOT = path.resolve(__dirname, '../..');

/**
 * Node options of the services: those the images run with (the Dockerfile's NODE_OPTIONS, e.g. the
 * heap bound), so memory and GC cost are measured as deployed; BENCH_SERVICE_NODE_OPTIONS overrides.
 */
export const SERVICE_NODE_OPTIONS =
  process.env.BENCH_SERVICE_NODE_OPTIONS ?? /^\s*NODE_OPTIONS=(\S+)/m.exec(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '';

/** When set, every service writes a V8 CPU profile there (`npm run bench:profile` summarises them). */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
const PORT_VARS = { 'ingest-api': 'INGEST_PORT', transformer: 'TRANSFORMER_PORT', loader: 'LOADER_PORT', monitor: 'MONITOR_PORT' } as const;
export type Svc = keyof typeof PORT_VARS;

/** The pipeline's services, the set a scenario runs unless it names others. */
export const PIPELINE_SERVICES: readonly Svc[] = ['ingest-api', 'transformer', 'loader'];

/** `tributary migrate` for the pipelines in `env.TRIBUTARY_PIPELINES` (`--roles` also creates the database roles). */
export function migrate(env: Record<string, string>, args: string[] = []): void {
  execFileSync(process.execPath, [path.join(ROOT, 'apps/cli/dist/cli.js'), 'migrate', ...args], {
    env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
  });
}

/** Running services of one scenario. */
export class BenchStack {
  private constructor(
    /** Every process, named `<service>` or `<service>-<replica>`. */
    readonly procs: Map<string, ServiceProcess>,
    readonly ingestPort: number,
    /** HTTP port of each process. */
    readonly ports: Map<string, number>,
  ) {}

  /** Starts `services` (ingest-api and the monitor once, the others `replicas` times) and waits until each is ready. */
  static async start(env: Record<string, string>, scenario: string, replicas = 1, services = PIPELINE_SERVICES): Promise<BenchStack> {
    const procs = new Map<string, ServiceProcess>();
    const ports = new Map<string, number>();
    let ingestPort = 0;
    for (const service of services) {
      const single = service === 'ingest-api' || service === 'monitor';
      for (let r = 1; r <= (single ? 1 : replicas); r++) {
        const name = replicas > 1 && !single ? `${service}-${r}` : service;
        const port = await freePort();
        ports.set(name, port);
        if (service === 'ingest-api') ingestPort = port;
        procs.set(
          name,
          await spawnService({
            name,
            script: path.join(ROOT, 'services', service, 'dist/main.js'),
            env: {
              ...env,
              [PORT_VARS[service]]: String(port),
              LOG_LEVEL: 'warn',
              NODE_OPTIONS: SERVICE_NODE_OPTIONS,
            },
            nodeArgs: CPU_PROF_DIR
              ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(CPU_PROF_DIR)}`, `--cpu-prof-name=${scenario}-${name}.cpuprofile`]
              : [],
            readyUrl: `http://127.0.0.1:${port}/readyz`,
            readyTimeoutMs: 60_000,
          }),
        );
      }
    }
    return new BenchStack(procs, ingestPort, ports);
  }

  /** CPU seconds used so far, per process. */
  cpu(): Record<string, number> {
    return Object.fromEntries([...this.procs].map(([n, p]) => [n, cpuSeconds(p.pid)]));
  }

  /** CPU seconds per million records between two `cpu()` readings, per process. */
  static perMillion(before: Record<string, number>, after: Record<string, number>, records: number): Record<string, number> {
    return Object.fromEntries(Object.keys(before).map((k) => [k, ((after[k]! - before[k]!) / Math.max(1, records)) * 1e6]));
  }

  /** Peak resident memory so far, per process. */
  peakRss(): Record<string, number> {
    return Object.fromEntries([...this.procs].map(([n, p]) => [n, peakRssMiB(p.pid)]));
  }

  async stop(): Promise<void> {
    for (const p of this.procs.values()) await p.cleanup();
  }
}

/**
 * POSTs NDJSON `bodies` to a push source, `parallel` requests at a time; each must answer 202. A
 * 503 or 429 (the ingest-api shedding load, e.g. its idempotency store timing out when more is
 * offered than the machine carries) is retried with the same idempotency key, as a client should,
 * after `Retry-After` or 200 ms, up to 50 times.
 */
export async function push(
  port: number,
  pipeline: string,
  source: string,
  bodies: string[],
  parallel: number,
  keyPrefix = `p${Date.now()}-${Math.random()}`,
): Promise<void> {
  const queue = [...bodies.keys()];
  const worker = async (): Promise<void> => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      for (let attempt = 1; ; attempt++) {
        const r = await fetch(`http://127.0.0.1:${port}/v1/pipelines/${pipeline}/sources/${source}/records`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': `${keyPrefix}-${i}` },
          body: bodies[i],
        });
        if (r.status === 202) break;
        const text = await r.text();
        if ((r.status !== 503 && r.status !== 429) || attempt >= 50) throw new Error(`push failed: ${r.status} ${text}`);
        await new Promise((done) => setTimeout(done, Number(r.headers.get('retry-after') ?? 0) * 1000 || 200));
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/**
 * Rows the loader inserted into `table` of `pipeline`, from its ledger (`tributary.load_ledger`,
 * one row per message and table, committed in the same transaction as the rows it counts). The
 * scenarios wait on this instead of a `count(*)` of the table: counting a table of a million rows
 * every 100 ms cost PostgreSQL more CPU than loading it, inside the measurement; the rows are
 * counted once after the clock stops instead (`checked`).
 */
export function ledgerInserted(pipeline: string, table: string): string {
  return `SELECT coalesce(sum(inserted), 0) AS n FROM tributary.load_ledger WHERE pipeline = '${pipeline}' AND table_name = '${table}'`;
}

/** Polls `sql` (returning one row with a numeric `n`) until n >= `target`. */
export async function waitCount(db: Client, sql: string, target: number, timeoutMs = 600_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let n = 0;
  while (Date.now() < end) {
    n = Number((await db.query(sql)).rows[0].n);
    if (n >= target) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${target} from ${sql} (last ${n})`);
}

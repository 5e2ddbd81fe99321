/**
 * `npm run bench`: starts private NATS and PostgreSQL, measures the limits (raw COPY, raw
 * JetStream), the naive design and Tributary end to end in one run, prints a table with the
 * ratios, and writes bench/results/<date>.json. Figures are only comparable within one run: the
 * machines are shared and noisy, so the ratios are what the goals are stated in.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, NatsServer, PostgresServer, spawnService, stopAll, type ServiceProcess } from '@tributary/testkit';
import { Client } from 'pg';
import { naive, rawCopy, rawJetStream, type Measured } from './baselines';
import { cpuSeconds, machineCpuSeconds, peakRssMiB } from './proc-stats';
import { ndjsonBatches, percentile } from './records';

const ROOT = path.resolve(__dirname, '../..');
const N = Number(process.env.BENCH_RECORDS ?? 300_000);
const NAIVE_N = Number(process.env.BENCH_NAIVE_RECORDS ?? 5_000);
/** When set, each service of the push scenario writes a V8 CPU profile there (`npm run bench:profile` summarises them). */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
const SERVICES = { 'ingest-api': 'INGEST_PORT', transformer: 'TRANSFORMER_PORT', loader: 'LOADER_PORT' } as const;
type Svc = keyof typeof SERVICES;

interface E2E extends Measured {
  latencyMs: { p50: number; p95: number; p99: number };
  cpuSecondsPerMillion: Record<string, number>;
  peakRssMiB: Record<string, number>;
  /** Cores kept busy on the whole machine (every process: services, NATS, PostgreSQL, the client). */
  machineCoresBusy: number;
}

async function startServices(
  env: Record<string, string>,
  scenario: string,
): Promise<{ procs: Map<Svc, ServiceProcess>; ports: Map<Svc, number> }> {
  const procs = new Map<Svc, ServiceProcess>();
  const ports = new Map<Svc, number>();
  for (const name of Object.keys(SERVICES) as Svc[]) {
    const port = await freePort();
    ports.set(name, port);
    procs.set(
      name,
      await spawnService({
        name,
        script: path.join(ROOT, 'services', name, 'dist/main.js'),
        env: {
          ...env,
          [SERVICES[name]]: String(port),
          LOG_LEVEL: 'warn',
          ...(process.env.BENCH_SERVICE_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVICE_NODE_OPTIONS } : {}),
        },
        nodeArgs: CPU_PROF_DIR
          ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(CPU_PROF_DIR)}`, `--cpu-prof-name=${scenario}-${name}.cpuprofile`]
          : [],
        readyUrl: `http://127.0.0.1:${port}/readyz`,
        readyTimeoutMs: 60_000,
      }),
    );
  }
  return { procs, ports };
}

/** Latency percentiles from the ledger: commit time minus earliest ingest time, per record. */
async function ledgerLatency(db: Client, pipeline: string, since: Date): Promise<{ p50: number; p95: number; p99: number }> {
  const r = await db.query<{ ms: number; records: number }>(
    `SELECT extract(epoch FROM (loaded_at - ingested_at)) * 1000 AS ms, records FROM tributary.load_ledger WHERE pipeline = $1 AND loaded_at >= $2`,
    [pipeline, since],
  );
  const samples: number[] = [];
  for (const row of r.rows) for (let i = 0; i < Math.max(1, Math.round(row.records / 100)); i++) samples.push(Number(row.ms));
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), p99: percentile(samples, 99) };
}

async function waitRows(db: Client, table: string, n: number, timeoutMs = 600_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const c = (await db.query(`SELECT count(*)::int AS n FROM warehouse.${table}`)).rows[0].n as number;
    if (c >= n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${n} rows in ${table}`);
}

async function push(port: number, bodies: string[], parallel: number, keyPrefix = `p${Date.now()}-${Math.random()}`): Promise<void> {
  const queue = [...bodies.keys()];
  const worker = async (): Promise<void> => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const r = await fetch(`http://127.0.0.1:${port}/v1/pipelines/bench/sources/gantry/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': `${keyPrefix}-${i}` },
        body: bodies[i],
      });
      if (r.status !== 202) throw new Error(`push failed: ${r.status} ${await r.text()}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

function cpuOf(procs: Map<Svc, ServiceProcess>): Record<string, number> {
  return Object.fromEntries([...procs].map(([n, p]) => [n, cpuSeconds(p.pid)]));
}

async function tributaryPush(db: Client, procs: Map<Svc, ServiceProcess>, ports: Map<Svc, number>): Promise<E2E> {
  const bodies = ndjsonBatches(N, 5_000, `t${Date.now()}`);
  const before = (await db.query('SELECT count(*)::int AS n FROM warehouse.fact_passage')).rows[0].n as number;
  const cpu0 = cpuOf(procs);
  const machine0 = machineCpuSeconds();
  const since = new Date();
  const t0 = performance.now();
  await push(ports.get('ingest-api')!, bodies, 4);
  await waitRows(db, 'fact_passage', before + N);
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuOf(procs);
  const machine1 = machineCpuSeconds();
  return {
    records: N,
    seconds,
    perSecond: N / seconds,
    latencyMs: await ledgerLatency(db, 'bench', since),
    cpuSecondsPerMillion: Object.fromEntries(Object.keys(cpu0).map((k) => [k, ((cpu1[k]! - cpu0[k]!) / N) * 1e6])),
    peakRssMiB: Object.fromEntries([...procs].map(([n, p]) => [n, peakRssMiB(p.pid)])),
    machineCoresBusy: (machine1.busy - machine0.busy) / seconds,
  };
}

/** Pushes 1000-record batches at a steady `rate` records/s for `seconds`, then reads latency from the ledger. */
async function steadyLatency(
  db: Client,
  ports: Map<Svc, number>,
  rate: number,
  seconds: number,
): Promise<{ p50: number; p95: number; p99: number; achieved: number }> {
  const perBatch = 1000;
  const batches = Math.round((rate * seconds) / perBatch);
  const bodies = ndjsonBatches(batches * perBatch, perBatch, `s${Date.now()}`);
  const before = (await db.query('SELECT count(*)::int AS n FROM warehouse.fact_passage')).rows[0].n as number;
  const since = new Date();
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < batches; i++) {
    const due = t0 + (i * perBatch * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(push(ports.get('ingest-api')!, [bodies[i]!], 1));
  }
  await Promise.all(inflight);
  const achieved = (batches * perBatch) / ((performance.now() - t0) / 1000);
  await waitRows(db, 'fact_passage', before + batches * perBatch);
  return { ...(await ledgerLatency(db, 'bench', since)), achieved };
}

async function generator(
  natsUrl: string,
  databaseUrl: string,
  windowSeconds: number,
): Promise<Measured & { cpuSecondsPerMillion: Record<string, number>; peakRssMiB: Record<string, number> }> {
  const env = {
    NATS_URL: natsUrl,
    DATABASE_URL: databaseUrl,
    TRIBUTARY_PIPELINES: path.join(ROOT, 'bench/pipelines-gen'),
    INGEST_GENERATORS: 'true',
  };
  execFileSync(process.execPath, [path.join(ROOT, 'packages/core/dist/cli.js'), 'migrate'], {
    env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
  });
  const { procs } = await startServices(env, 'generator');
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  await new Promise((r) => setTimeout(r, 3_000)); // warm-up
  const count = async (): Promise<number> =>
    (await db.query('SELECT count(*)::int AS n FROM warehouse.fact_passage_gen')).rows[0].n as number;
  const c0 = await count();
  const cpu0 = cpuOf(procs);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, windowSeconds * 1000));
  const c1 = await count();
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuOf(procs);
  const peak = Object.fromEntries([...procs].map(([n, p]) => [n, peakRssMiB(p.pid)]));
  for (const p of procs.values()) await p.cleanup();
  await db.end();
  const records = c1 - c0;
  return {
    records,
    seconds,
    perSecond: records / seconds,
    cpuSecondsPerMillion: Object.fromEntries(Object.keys(cpu0).map((k) => [k, ((cpu1[k]! - cpu0[k]!) / Math.max(1, records)) * 1e6])),
    peakRssMiB: peak,
  };
}

const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

async function main(): Promise<void> {
  const nats = await NatsServer.start();
  const pg = await PostgresServer.start();
  const databaseUrl = pg.url('tributary');
  const env = {
    NATS_URL: nats.url,
    DATABASE_URL: databaseUrl,
    TRIBUTARY_PIPELINES: path.join(ROOT, 'bench/pipelines'),
    INGEST_GENERATORS: 'false',
  };
  execFileSync(process.execPath, [path.join(ROOT, 'packages/core/dist/cli.js'), 'migrate'], {
    env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
  });
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();

  process.stdout.write(`bench: ${N.toLocaleString('en-US')} records per scenario (naive: ${NAIVE_N.toLocaleString('en-US')})\n`);
  const copy = await rawCopy(databaseUrl, N);
  process.stdout.write(`  raw COPY            ${fmt(copy.perSecond)} records/s\n`);
  const js = await rawJetStream(nats.url, N);
  process.stdout.write(`  raw JetStream       ${fmt(js.perSecond)} records/s\n`);
  const nv = await naive(nats.url, databaseUrl, NAIVE_N);
  process.stdout.write(`  naive               ${fmt(nv.perSecond)} records/s\n`);

  const { procs, ports } = await startServices(env, 'push');
  const e2e = await tributaryPush(db, procs, ports);
  process.stdout.write(
    `  tributary push      ${fmt(e2e.perSecond)} records/s, p50/p95/p99 ${fmt(e2e.latencyMs.p50)}/${fmt(e2e.latencyMs.p95)}/${fmt(e2e.latencyMs.p99)} ms\n`,
  );
  const steady = await steadyLatency(db, ports, Number(process.env.BENCH_STEADY_RATE ?? 20_000), 10);
  process.stdout.write(`  steady ${fmt(steady.achieved)}/s      p50/p95/p99 ${fmt(steady.p50)}/${fmt(steady.p95)}/${fmt(steady.p99)} ms\n`);
  const peak = Object.fromEntries([...procs].map(([n, p]) => [n, peakRssMiB(p.pid)]));
  for (const p of procs.values()) await p.cleanup();
  const gen = await generator(nats.url, databaseUrl, 10);
  process.stdout.write(`  tributary generator ${fmt(gen.perSecond)} records/s\n`);

  const result = {
    date: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    records: N,
    rawCopy: copy,
    rawJetStream: js,
    naive: nv,
    tributaryPush: { ...e2e, peakRssMiB: peak },
    steady,
    tributaryGenerator: gen,
    ratios: {
      pushVsCopy: e2e.perSecond / copy.perSecond,
      pushVsNaive: e2e.perSecond / nv.perSecond,
      pushVsRawJetStream: e2e.perSecond / js.perSecond,
      generatorVsCopy: gen.perSecond / copy.perSecond,
    },
  };
  const table = [
    '| scenario | records/s | vs raw COPY | vs naive |',
    '|---|---:|---:|---:|',
    `| raw COPY (limit) | ${fmt(copy.perSecond)} | 1.00 | ${(copy.perSecond / nv.perSecond).toFixed(1)} |`,
    `| raw JetStream publish+consume (limit) | ${fmt(js.perSecond)} | ${(js.perSecond / copy.perSecond).toFixed(2)} | ${(js.perSecond / nv.perSecond).toFixed(1)} |`,
    `| naive: message + INSERT per record | ${fmt(nv.perSecond)} | ${(nv.perSecond / copy.perSecond).toFixed(3)} | 1.0 |`,
    `| **Tributary, HTTP push, exactly-once** | **${fmt(e2e.perSecond)}** | **${result.ratios.pushVsCopy.toFixed(2)}** | **${result.ratios.pushVsNaive.toFixed(1)}** |`,
    `| Tributary, generator source | ${fmt(gen.perSecond)} | ${result.ratios.generatorVsCopy.toFixed(2)} | ${(gen.perSecond / nv.perSecond).toFixed(1)} |`,
    '',
    `Machine CPU during the push scenario: ${e2e.machineCoresBusy.toFixed(2)} of ${result.machine.cpus} cores busy (all processes).`,
    '',
    `Latency, ingest request to committed row: at full load p50/p95/p99 ${fmt(e2e.latencyMs.p50)}/${fmt(e2e.latencyMs.p95)}/${fmt(e2e.latencyMs.p99)} ms; at a steady ${fmt(steady.achieved)} records/s p50/p95/p99 ${fmt(steady.p50)}/${fmt(steady.p95)}/${fmt(steady.p99)} ms.`,
    '',
    '| service | CPU s per million records (push) | peak RSS MiB |',
    '|---|---:|---:|',
    ...Object.keys(e2e.cpuSecondsPerMillion).map((k) => `| ${k} | ${e2e.cpuSecondsPerMillion[k]!.toFixed(1)} | ${peak[k]!.toFixed(0)} |`),
  ].join('\n');
  process.stdout.write(`\n${table}\n`);
  const file = path.join(ROOT, 'bench/results', `${result.date.slice(0, 19).replace(/:/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ ...result, table }, null, 2)}\n`);
  process.stdout.write(`\nwrote ${path.relative(ROOT, file)}\n`);
  await db.end();
  await stopAll();
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  await stopAll();
  process.exit(1);
});

/**
 * `npm run bench`: starts private NATS and PostgreSQL, measures the limits (raw COPY, raw
 * JetStream), the naive design and Tributary (HTTP push end to end, steady-rate latency, the
 * generator, window aggregation, an SCD2 load, two replicas of each stage, pull sources, a report
 * page and what open report pages cost the pipeline) in one run, prints a
 * table with the ratios, and writes bench/results/<date>.json. Figures are only comparable within
 * one run: the machines are shared and noisy, so the ratios are what the goals are stated in.
 *
 * Longer than 300 lines because it is the bench's driver: every scenario's row of the table is
 * assembled here.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { NatsServer, PostgresServer, stopAll } from '@tributary/testkit';
import { Client } from 'pg';
import { naive, rawCopy, rawJetStream, type Measured } from './baselines';
import { machineCpuSeconds, treeCpuSeconds } from './proc-stats';
import { ndjsonBatches } from './records';
import { modelPush, modelStepAlone } from './model-scenario';
import { largeTable, manyPipelines, scd2Load, servers, twoReplicas, windowAggregation, type ScenarioResult } from './scenarios';
import { reportLoadScenario, reportLoadTable, reportScenario, reportTable } from './report-scenarios';
import { cdc, file as fileFolder, type SourceScenarioResult } from './source-scenarios';
import { BenchStack, ledgerInserted, migrate, push, ROOT, SERVICE_NODE_OPTIONS, waitCount } from './stack';
import { COUNT_PASSAGES, ledgerLatency, steadyPush, type Latency } from './steady';

const N = Number(process.env.BENCH_RECORDS ?? 300_000);
const NAIVE_N = Number(process.env.BENCH_NAIVE_RECORDS ?? 5_000);
/** Rows put in the fact table before the large-table scenario. */
const LARGE_TABLE_ROWS = Number(process.env.BENCH_LARGE_TABLE_ROWS ?? 3_000_000);
/**
 * Rounds of the headline comparison: each round runs raw COPY, the naive design and the Tributary
 * push back to back, so each ratio compares runs made under the same conditions of this shared
 * machine; the table reports the medians.
 */
/** Source rows of the `cdc` snapshot and the `file` scenario, and the offered rate of the CDC stream. */
const SOURCE_ROWS = Number(process.env.BENCH_SOURCE_ROWS ?? 1_000_000);
const CDC_RATE = Number(process.env.BENCH_CDC_RATE ?? 20_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
/** Rows of the fact table the `report` and `report-load` scenarios' report reads; pages open and full-load records of `report-load`. */
/** Offered rate of the steady scenarios (`steady`, and `report-load`). */
const STEADY_RATE = Number(process.env.BENCH_STEADY_RATE ?? 20_000);
const REPORT_ROWS = Number(process.env.BENCH_REPORT_ROWS ?? 1_000_000);
const REPORT_PAGES = Number(process.env.BENCH_REPORT_PAGES ?? 5);
const REPORT_LOAD_RECORDS = Number(process.env.BENCH_REPORT_LOAD_RECORDS ?? 100_000);
/** Scenarios to run (comma-separated); all by default. */
const ONLY = process.env.BENCH_SCENARIOS?.split(',').map((s) => s.trim());
const wanted = (name: string): boolean => !ONLY || ONLY.includes(name);

interface E2E extends Measured {
  latencyMs: Latency;
  cpuSecondsPerMillion: Record<string, number>;
  peakRssMiB: Record<string, number>;
  /** Cores kept busy on the whole machine (every process: services, NATS, PostgreSQL, the client). */
  machineCoresBusy: number;
}

/** The run with the median rate (the lower middle one of an even count). */
function medianRun<T extends Measured>(runs: T[]): T {
  return [...runs].sort((a, b) => a.perSecond - b.perSecond)[Math.floor((runs.length - 1) / 2)]!;
}

/** Per-process CPU seconds per million records, averaged over runs. */
function meanCpu(runs: { cpuSecondsPerMillion: Record<string, number> }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.cpuSecondsPerMillion)) out[k] = (out[k] ?? 0) + v / runs.length;
  return out;
}

async function count(db: Client, sql: string): Promise<number> {
  return Number((await db.query(sql)).rows[0].n);
}

/** Processes outside our services whose CPU the push scenario also reports. */
type Servers = Record<'nats-server' | 'postgres', number>;

function serverCpu(servers: Servers): Record<string, number> {
  return Object.fromEntries(Object.entries(servers).map(([k, pid]) => [k, treeCpuSeconds(pid)]));
}

async function tributaryPush(db: Client, stack: BenchStack, servers: Servers): Promise<E2E> {
  const bodies = ndjsonBatches(N, 5_000, `t${Date.now()}`);
  const before = await count(db, COUNT_PASSAGES);
  const loaded = await count(db, ledgerInserted('bench', 'fact_passage'));
  const cpu0 = { ...stack.cpu(), ...serverCpu(servers) };
  const machine0 = machineCpuSeconds();
  const since = new Date();
  const t0 = performance.now();
  await push(stack.ingestPort, 'bench', 'gantry', bodies, 4);
  await waitCount(db, ledgerInserted('bench', 'fact_passage'), loaded + N);
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = { ...stack.cpu(), ...serverCpu(servers) };
  const machine1 = machineCpuSeconds();
  const rows = await count(db, COUNT_PASSAGES);
  if (rows !== before + N) throw new Error(`push: ${rows - before} rows added to warehouse.fact_passage, expected ${N}`);
  return {
    records: N,
    seconds,
    perSecond: N / seconds,
    latencyMs: await ledgerLatency(db, 'bench', since),
    cpuSecondsPerMillion: BenchStack.perMillion(cpu0, cpu1, N),
    peakRssMiB: stack.peakRss(),
    machineCoresBusy: (machine1.busy - machine0.busy) / seconds,
  };
}

/** The generator source at a rate above capacity, measured over `windowSeconds` after a warm-up. */
async function generator(db: Client, base: Record<string, string>, windowSeconds: number): Promise<ScenarioResult> {
  const env = { ...base, TRIBUTARY_PIPELINES: path.join(ROOT, 'bench/pipelines-gen'), INGEST_GENERATORS: 'true' };
  migrate(env);
  const stack = await BenchStack.start(env, 'generator');
  try {
    await new Promise((r) => setTimeout(r, 3_000)); // warm-up
    const sql = 'SELECT count(*) AS n FROM warehouse.fact_passage_gen';
    const c0 = await count(db, sql);
    const cpu0 = stack.cpu();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, windowSeconds * 1000));
    const records = (await count(db, sql)) - c0;
    const seconds = (performance.now() - t0) / 1000;
    return {
      records,
      seconds,
      perSecond: records / seconds,
      cpuSecondsPerMillion: BenchStack.perMillion(cpu0, stack.cpu(), records),
      peakRssMiB: stack.peakRss(),
      checked: 'rows committed during the window',
    };
  } finally {
    await stack.stop();
  }
}

const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const say = (line: string): boolean => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const nats = await NatsServer.start();
  const pg = await PostgresServer.start();
  const databaseUrl = pg.url('tributary');
  Object.assign(servers, { 'nats-server': nats.pid!, postgres: pg.pid! });
  const env = {
    NATS_URL: nats.url,
    DATABASE_URL: databaseUrl,
    TRIBUTARY_PIPELINES: path.join(ROOT, 'bench/pipelines'),
    INGEST_GENERATORS: 'false',
  };
  migrate(env);
  const db = new Client({ connectionString: databaseUrl });
  // When a scenario fails, PostgreSQL is stopped under this client: report the failure, not that.
  db.on('error', () => undefined);
  await db.connect();

  say(
    `bench: ${N.toLocaleString('en-US')} records per scenario (naive: ${NAIVE_N.toLocaleString('en-US')}); services run with NODE_OPTIONS=${SERVICE_NODE_OPTIONS || '(none)'}`,
  );
  const js = await rawJetStream(nats.url, N);
  say(`  raw JetStream       ${fmt(js.perSecond)} records/s`);

  const stack = await BenchStack.start(env, 'push');
  const copies: Measured[] = [];
  const naives: Measured[] = [];
  const pushes: E2E[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    copies.push(await rawCopy(databaseUrl, N));
    naives.push(await naive(nats.url, databaseUrl, NAIVE_N));
    // Every round loads into an empty table, as raw COPY does.
    await db.query('TRUNCATE warehouse.fact_passage');
    pushes.push(await tributaryPush(db, stack, { 'nats-server': nats.pid!, postgres: pg.pid! }));
    const [c, v, p] = [copies.at(-1)!, naives.at(-1)!, pushes.at(-1)!];
    say(
      `  round ${round}: raw COPY ${fmt(c.perSecond)}, naive ${fmt(v.perSecond)}, tributary push ${fmt(p.perSecond)} records/s (${(p.perSecond / c.perSecond).toFixed(2)}× COPY, ${(p.perSecond / v.perSecond).toFixed(1)}× naive), p50/p95/p99 ${fmt(p.latencyMs.p50)}/${fmt(p.latencyMs.p95)}/${fmt(p.latencyMs.p99)} ms`,
    );
  }
  const copy = medianRun(copies);
  const nv = medianRun(naives);
  const e2e = { ...medianRun(pushes), cpuSecondsPerMillion: meanCpu(pushes) };
  const steady = await steadyPush(db, stack, STEADY_RATE, 10);
  say(`  steady ${fmt(steady.achieved)}/s      p50/p95/p99 ${fmt(steady.p50)}/${fmt(steady.p95)}/${fmt(steady.p99)} ms`);
  const peak = stack.peakRss();
  await stack.stop();

  const scenarios: Record<string, ScenarioResult> = {};
  const scenario = async (name: string, label: string, f: () => Promise<ScenarioResult>): Promise<void> => {
    if (!wanted(name)) return;
    scenarios[name] = await f();
    say(`  ${label.padEnd(19)} ${fmt(scenarios[name].perSecond)} records/s (${scenarios[name].checked})`);
  };
  await scenario('generator', 'tributary generator', () => generator(db, env, 10));
  await scenario('window', 'window aggregation', () => windowAggregation(db, env, N));
  await scenario('scd2', 'scd2 dimension', () => scd2Load(db, env, Math.min(N, 100_000)));
  await scenario('replicas', 'two replicas', () => twoReplicas(db, env, N));
  await scenario('pipelines', 'four pipelines', () => manyPipelines(db, env, N, 4));
  await scenario('large-table', 'large table', () => largeTable(db, env, N, LARGE_TABLE_ROWS));
  await scenario('model', 'model step (push)', () => modelPush(db, env, N));
  const modelAlone = wanted('model') ? await modelStepAlone(N) : undefined;
  if (modelAlone)
    say(
      `  model step alone    ${fmt(modelAlone.perCoreSecond)} records per CPU second (batches of ${modelAlone.batch}; ${modelAlone.checked})`,
    );

  // Pull sources, each against a baseline of its own rows copied by hand in the same run.
  const sources: Record<string, SourceScenarioResult> = {};
  const sourceScenario = (name: string, r: SourceScenarioResult): void => {
    sources[name] = r;
    say(
      `  ${name.padEnd(19)} ${fmt(r.perSecond)} records/s, ${(r.perSecond / r.baseline.perSecond).toFixed(2)}× ${r.baseline.what} (${r.checked})`,
    );
  };
  if (wanted('cdc')) {
    const [snapshot, stream] = await cdc(databaseUrl, db, env, SOURCE_ROWS, CDC_RATE, 10);
    sourceScenario('cdc-snapshot', snapshot!);
    sourceScenario('cdc-stream', stream!);
  }
  if (wanted('file')) sourceScenario('file', await fileFolder(databaseUrl, db, env, SOURCE_ROWS));

  // Reports: the page against its own queries, and what open pages cost the pipeline.
  const report = wanted('report') ? await reportScenario(databaseUrl, db, env, REPORT_ROWS) : undefined;
  if (report)
    say(
      `  report              first paint ${fmt(report.cold.fcp)} ms, every tile ${fmt(report.cold.allData)} ms cold / ${fmt(report.warm.allData)} ms warm; its queries with pg ${fmt(report.sqlMs.first)} ms`,
    );
  const reportLoad = wanted('report-load')
    ? await reportLoadScenario(db, env, {
        rows: REPORT_ROWS,
        rate: STEADY_RATE,
        seconds: 10,
        fullRecords: REPORT_LOAD_RECORDS,
        pages: REPORT_PAGES,
        postgresPid: pg.pid!,
      })
    : undefined;
  if (reportLoad)
    say(
      `  report-load         ${REPORT_PAGES} pages cost ${reportLoad.costPct['as is'].steadyCommitted.toFixed(1)}% at ${fmt(STEADY_RATE)}/s offered, ${reportLoad.costPct['as is'].full.toFixed(1)}% at full load; with their browser under SCHED_IDLE ${reportLoad.costPct.SCHED_IDLE.steadyCommitted.toFixed(1)}% and ${reportLoad.costPct.SCHED_IDLE.full.toFixed(1)}%`,
    );

  const ratio = (m: Measured, base: Measured, digits = 2): string => (m.perSecond / base.perSecond).toFixed(digits);
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version, serviceNodeOptions: SERVICE_NODE_OPTIONS },
    records: N,
    rounds: { rawCopy: copies, naive: naives, tributaryPush: pushes },
    rawCopy: copy,
    rawJetStream: js,
    naive: nv,
    tributaryPush: { ...e2e, peakRssMiB: peak },
    steady,
    scenarios,
    sources,
    ...(report ? { report } : {}),
    ...(reportLoad ? { reportLoad } : {}),
    ...(modelAlone ? { modelStepAlone: modelAlone } : {}),
    ratios: {
      pushVsCopy: e2e.perSecond / copy.perSecond,
      pushVsNaive: e2e.perSecond / nv.perSecond,
      pushVsRawJetStream: e2e.perSecond / js.perSecond,
      ...(scenarios.replicas ? { twoReplicasVsOne: scenarios.replicas.perSecond / e2e.perSecond } : {}),
    },
  };
  const labels: Record<string, string> = {
    generator: 'Tributary, generator source',
    window: 'Tributary, window aggregation (records in)',
    scd2: 'Tributary, SCD2 dimension (versions)',
    replicas: 'Tributary, push, 2 transformers + 2 loaders',
    pipelines: 'Tributary, push, 4 pipelines at once',
    'large-table': `Tributary, push into a table of ${LARGE_TABLE_ROWS.toLocaleString('en-US')}+ rows`,
    model: 'Tributary, push with a `model` step (fraud model)',
  };
  /** What the model step costs the transformer, per million records: push with the step minus plain push. */
  const modelCost = scenarios.model
    ? (scenarios.model.cpuSecondsPerMillion.transformer ?? 0) - (e2e.cpuSecondsPerMillion.transformer ?? 0)
    : undefined;
  const cpuRows = (r: { cpuSecondsPerMillion: Record<string, number> }, peakRss: Record<string, number>, name: string): string[] =>
    Object.keys(r.cpuSecondsPerMillion).map(
      (k) => `| ${name} | ${k} | ${r.cpuSecondsPerMillion[k]!.toFixed(1)} | ${peakRss[k] === undefined ? '' : peakRss[k].toFixed(0)} |`,
    );
  const range = (runs: Measured[], base: Measured[]): string => {
    const r = runs.map((m, i) => m.perSecond / base[i]!.perSecond);
    return `${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)}`;
  };
  const table = [
    `Medians of ${ROUNDS} round(s); in each round raw COPY, the naive design and the push ran back to back.`,
    '',
    '| scenario | records/s | vs raw COPY | vs naive |',
    '|---|---:|---:|---:|',
    `| raw COPY (limit) | ${fmt(copy.perSecond)} | 1.00 | ${ratio(copy, nv, 1)} |`,
    `| raw JetStream publish+consume (limit) | ${fmt(js.perSecond)} | ${ratio(js, copy)} | ${ratio(js, nv, 1)} |`,
    `| naive: message + INSERT per record | ${fmt(nv.perSecond)} | ${ratio(nv, copy, 3)} | 1.0 |`,
    `| **Tributary, HTTP push, exactly-once** | **${fmt(e2e.perSecond)}** | **${ratio(e2e, copy)}** | **${ratio(e2e, nv, 1)}** |`,
    ...Object.entries(scenarios).map(([k, r]) => `| ${labels[k]} | ${fmt(r.perSecond)} | ${ratio(r, copy)} | ${ratio(r, nv, 1)} |`),
    '',
    `Push vs raw COPY, round by round: ${range(pushes, copies)}; vs naive: ${pushes.map((p, i) => (p.perSecond / naives[i]!.perSecond).toFixed(1)).join(', ')}.`,
    '',
    `Machine CPU during the push scenario: ${e2e.machineCoresBusy.toFixed(2)} of ${result.machine.cpus} cores busy (all processes).`,
    ...(modelAlone && scenarios.model
      ? [
          '',
          `The \`model\` step alone scores ${fmt(modelAlone.perCoreSecond)} records per CPU second (one core; batches of ${modelAlone.batch}, the shipped fraud model); on the push path it costs the transformer ${modelCost!.toFixed(1)} CPU s per million records (${fmt(scenarios.model.perSecond)} vs ${fmt(e2e.perSecond)} records/s end to end).`,
        ]
      : []),
    ...(scenarios.replicas
      ? ['', `Two replicas of each stage vs one: ${result.ratios.twoReplicasVsOne!.toFixed(2)}× the throughput (same machine, same cores).`]
      : []),
    '',
    `Latency, ingest request to committed row: at full load p50/p95/p99 ${fmt(e2e.latencyMs.p50)}/${fmt(e2e.latencyMs.p95)}/${fmt(e2e.latencyMs.p99)} ms; at a steady ${fmt(steady.achieved)} records/s p50/p95/p99 ${fmt(steady.p50)}/${fmt(steady.p95)}/${fmt(steady.p99)} ms.`,
    ...(Object.keys(sources).length
      ? [
          '',
          '| source scenario | records/s | its baseline, same rows | baseline records/s | vs baseline |',
          '|---|---:|---|---:|---:|',
          ...Object.entries(sources).map(
            ([k, r]) => `| ${k} | ${fmt(r.perSecond)} | ${r.baseline.what} | ${fmt(r.baseline.perSecond)} | ${ratio(r, r.baseline)} |`,
          ),
          '',
          ...Object.entries(sources).map(([k, r]) => `${k}: ${r.checked}.`),
        ]
      : []),
    ...(report ? ['', ...reportTable(report)] : []),
    ...(reportLoad ? ['', ...reportLoadTable(reportLoad)] : []),
    '',
    '| scenario | process | CPU s per million records | peak RSS MiB |',
    '|---|---|---:|---:|',
    ...cpuRows(e2e, peak, 'push'),
    ...Object.entries({ ...scenarios, ...sources }).flatMap(([k, r]) => cpuRows(r, r.peakRssMiB, k)),
  ].join('\n');
  say(`\n${table}`);
  const file = path.join(ROOT, 'bench/results', `${result.date.slice(0, 19).replace(/:/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ ...result, table }, null, 2)}\n`);
  say(`\nwrote ${path.relative(ROOT, file)}`);
  await db.end();
  await stopAll();
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  await stopAll();
  process.exit(1);
});

#!/usr/bin/env node
/**
 * `npm start`: the local runner. Uses NATS and PostgreSQL when they answer at NATS_URL and
 * DATABASE_URL, starts its own (data kept under .tributary/ or /var/tmp/tributary when root)
 * when they do not, runs `migrate`, starts the four services, prints where everything is, and
 * supervises them: a service that dies is restarted with backoff, and the restart is printed.
 * Ctrl-C, SIGINT or SIGTERM (to this runner or to the `npm` that runs it) stops everything within
 * STOP_BUDGET_MS; a second one stops at once. Works with USER unset, as root or not.
 */
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
/** Everything is stopped within this long of Ctrl-C: services get most of it to drain, then SIGKILL. */
const STOP_BUDGET_MS = 9_000;
/** Restart backoff of a crashed service: doubles from the first to the last, reset after RESTART_RESET_MS up. */
const RESTART_BACKOFF_MS = [1_000, 30_000];
const RESTART_RESET_MS = 60_000;
const env = {
  NATS_URL: 'nats://127.0.0.1:4222',
  DATABASE_URL: 'postgres://127.0.0.1:5432/tributary',
  TRIBUTARY_PIPELINES: path.join(ROOT, 'pipelines'),
  ...process.env,
};
// PostgreSQL's own superuser when the URL names none: node-postgres would otherwise take $USER,
// unset under docker exec, cron and CI (the services and the CLI apply the same default).
{
  const u = new URL(env.DATABASE_URL);
  if (!u.username && !u.searchParams.has('user')) {
    u.username = 'postgres';
    env.DATABASE_URL = u.toString();
  }
}
const isRoot = process.getuid && process.getuid() === 0;
const STATE = process.env.TRIBUTARY_STATE_DIR || (isRoot ? '/var/tmp/tributary' : path.join(ROOT, '.tributary'));
const LOGS = path.join(STATE, 'logs');
fs.mkdirSync(LOGS, { recursive: true });

const SERVICES = [
  { name: 'ingest-api', port: env.INGEST_PORT || '8081', portVar: 'INGEST_PORT' },
  { name: 'transformer', port: env.TRANSFORMER_PORT || '8082', portVar: 'TRANSFORMER_PORT' },
  { name: 'loader', port: env.LOADER_PORT || '8083', portVar: 'LOADER_PORT' },
  { name: 'monitor', port: env.MONITOR_PORT || '8080', portVar: 'MONITOR_PORT' },
];

const owned = []; // infrastructure processes we started and must stop
const services = [];
const say = (msg) => process.stdout.write(`tributary: ${msg}\n`);

/** Whether something accepts TCP connections at host:port. */
function answers(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port: Number(port) });
    s.setTimeout(1000);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

async function waitUntil(fn, what, ms = 30_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function which(cmd, fallbacks = []) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  return fallbacks.find((f) => fs.existsSync(f));
}

async function ensureNats() {
  const u = new URL(env.NATS_URL.split(',')[0]);
  const host = u.hostname || '127.0.0.1';
  const port = u.port || '4222';
  if (await answers(host, port)) return say(`NATS answers at ${env.NATS_URL}: using it`);
  const bin = which('nats-server', ['/usr/sbin/nats-server']);
  if (!bin) throw new Error('nats-server is not installed: run scripts/setup');
  const store = path.join(STATE, 'nats');
  fs.mkdirSync(store, { recursive: true });
  const log = fs.openSync(path.join(LOGS, 'nats-server.log'), 'a');
  const p = spawn(bin, ['-js', '-a', host, '-p', port, '-sd', store], { stdio: ['ignore', log, log], detached: true });
  owned.push({ name: 'nats-server', proc: p, signal: 'SIGTERM' });
  await waitUntil(() => answers(host, port), `nats-server on ${host}:${port}`);
  say(`started nats-server -js on ${host}:${port} (store ${store})`);
}

async function ensurePostgres() {
  const u = new URL(env.DATABASE_URL);
  const host = u.hostname || '127.0.0.1';
  const port = u.port || '5432';
  if (await answers(host, port)) return say(`PostgreSQL answers at ${host}:${port}: using it`);
  const versions = fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: run scripts/setup');
  const bin = `/usr/lib/postgresql/${versions.at(-1)}/bin`;
  const data = path.join(STATE, 'postgres');
  // PostgreSQL refuses to run as root: run it as the postgres user, which must own its folders.
  // setpriv replaces itself with postgres (runuser would stay in between and not pass SIGINT on).
  const as = isRoot ? ['setpriv', '--reuid', 'postgres', '--regid', 'postgres', '--init-groups', '--'] : [];
  const run = (args, opts = {}) =>
    spawnSync(as[0] || args[0], as.length ? [...as.slice(1), ...args] : args.slice(1), { encoding: 'utf8', ...opts });
  if (!fs.existsSync(path.join(data, 'PG_VERSION'))) {
    fs.mkdirSync(data, { recursive: true });
    if (isRoot) spawnSync('chown', ['-R', 'postgres:postgres', STATE]);
    const r = run([`${bin}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '--no-instructions']);
    if (r.status !== 0) throw new Error(`initdb failed: ${r.stderr}`);
  }
  const sock = path.join(STATE, 'pg-socket');
  fs.mkdirSync(sock, { recursive: true });
  if (isRoot) spawnSync('chown', ['-R', 'postgres:postgres', sock, data]);
  const log = fs.openSync(path.join(LOGS, 'postgres.log'), 'a');
  const cmd = [`${bin}/postgres`, '-D', data, '-p', port, '-h', host, '-k', sock];
  const p = spawn(as[0] || cmd[0], as.length ? [...as.slice(1), ...cmd] : cmd.slice(1), { stdio: ['ignore', log, log], detached: true });
  owned.push({ name: 'postgres', proc: p, signal: 'SIGINT' });
  await waitUntil(() => answers(host, port), `PostgreSQL on ${host}:${port}`);
  say(`started PostgreSQL ${versions.at(-1)} on ${host}:${port} (data ${data})`);
}

/** Whether a child has exited (a child killed by a signal has a null exit code and a signal code). */
const exited = (p) => p.exitCode !== null || p.signalCode !== null;

/** Stops `proc` with `signal`, then SIGKILL if it is still there at `deadline`; resolves when it is gone. */
function stopProcess(proc, signal, deadline) {
  if (exited(proc)) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => !exited(proc) && proc.kill('SIGKILL'), Math.max(0, deadline - Date.now()));
    proc.once('exit', () => (clearTimeout(kill), resolve()));
    proc.kill(signal);
  });
}

function startService(s) {
  const log = s.log ?? (s.log = fs.createWriteStream(path.join(LOGS, `${s.name}.log`), { flags: 'a' }));
  const p = spawn(process.execPath, [path.join(ROOT, 'services', s.name, 'dist/main.js')], {
    env: { ...env, [s.portVar]: s.port },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: Ctrl-C reaches only this runner, which then drains the services first
    // and stops NATS and PostgreSQL after them, in that order.
    detached: true,
  });
  // Everything goes to the log file; warnings and errors are echoed here too.
  const echo = (chunk) => {
    log.write(chunk);
    for (const line of chunk.toString().split('\n')) {
      if (/"level":"(warn|error|fatal)"/.test(line) || (line.trim() && !line.startsWith('{')))
        process.stdout.write(`[${s.name}] ${line}\n`);
    }
  };
  p.stdout.on('data', echo);
  p.stderr.on('data', echo);
  s.proc = p;
  s.startedAt = Date.now();
  say(`${s.restarts ? 'restarted' : 'started'} ${s.name} (pid ${p.pid}, port ${s.port})`);
  p.on('exit', (code, signal) => {
    if (stopping) return;
    // A service that stayed up a while gets the short backoff again.
    if (Date.now() - s.startedAt > RESTART_RESET_MS) s.backoff = undefined;
    s.backoff = s.backoff ? Math.min(s.backoff * 2, RESTART_BACKOFF_MS[1]) : RESTART_BACKOFF_MS[0];
    s.restarts = (s.restarts ?? 0) + 1;
    say(
      `${s.name} exited (${signal || `code ${code}`}); restarting it in ${s.backoff / 1000} s (restart ${s.restarts}); see ${path.join(LOGS, `${s.name}.log`)}`,
    );
    s.timer = setTimeout(() => !stopping && startService(s), s.backoff);
  });
  if (!services.includes(s)) services.push(s);
}

// ---- Third-party REST APIs of pipelines/events_weather.yaml and pipelines/forecast.yaml -------
// There is no internet here by default: each API whose key is not in the environment is pointed
// (through its connection's `base_url_env`) at a local fake server serving pages shaped like the
// real API's (packages/testkit/src/fake-apis.ts). Set TICKETMASTER_API_KEY, OPENWEATHER_API_KEY or
// TOMORROW_API_KEY to use the real API instead; FAKE_APIS_PORT picks the fake server's port.
const REST_APIS = [
  { key: 'TICKETMASTER_API_KEY', url: 'TICKETMASTER_BASE_URL', path: '/discovery/v2' },
  { key: 'OPENWEATHER_API_KEY', url: 'OPENWEATHER_BASE_URL', path: '' },
  { key: 'TOMORROW_API_KEY', url: 'TOMORROW_BASE_URL', path: '' },
];
let fakeApis;
async function startFakeApis() {
  const faked = REST_APIS.filter((a) => !env[a.key] && !env[a.url]);
  if (faked.length === 0) return;
  const { FakeApis } = require(path.join(ROOT, 'packages/testkit/dist/fake-apis.js'));
  fakeApis = await new FakeApis().start(Number(env.FAKE_APIS_PORT || 0));
  for (const a of faked) {
    env[a.key] = 'local-fake-key';
    env[a.url] = fakeApis.url + a.path;
  }
  say(`no ${faked.map((a) => a.key).join(', ')}: those REST sources use the local fake APIs at ${fakeApis.url}`);
}
// ---------------------------------------------------------------------------------------------

let stopping = false;
async function shutdown(code = 0) {
  if (stopping) {
    // A second Ctrl-C: no more waiting.
    for (const p of [...services.map((s) => s.proc), ...owned.map((o) => o.proc)]) if (p && !exited(p)) p.kill('SIGKILL');
    process.exit(code || 130);
  }
  stopping = true;
  const deadline = Date.now() + STOP_BUDGET_MS;
  say('stopping: draining services...');
  for (const s of services) clearTimeout(s.timer);
  // Services drain first (most of the budget), then the fake APIs, NATS and PostgreSQL.
  await Promise.all(services.map((s) => stopProcess(s.proc, 'SIGTERM', deadline - 3_000)));
  await fakeApis?.stop();
  for (const o of owned.reverse()) {
    await stopProcess(o.proc, o.signal, deadline);
    say(`stopped ${o.name}`);
  }
  say('bye');
  process.exit(code);
}

/** Stops everything when the `npm` (or shell) that started this runner goes away without telling it. */
function watchParent() {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void shutdown(0);
  }, 500).unref();
}

async function main() {
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGHUP', () => void shutdown(0));
  watchParent();
  say(`runner pid ${process.pid}`);
  await ensureNats();
  await ensurePostgres();
  const m = spawnSync(process.execPath, [path.join(ROOT, 'apps/cli/dist/cli.js'), 'migrate', '--roles'], { env, encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`migrate failed:\n${m.stderr || m.stdout}`);
  say('migrate: streams, consumers, KV buckets and warehouse tables in place');
  await startFakeApis();
  const generators = describeGenerators();
  for (const s of SERVICES) startService(s);
  await Promise.all(
    SERVICES.map((s) =>
      waitUntil(
        async () =>
          await fetch(`http://127.0.0.1:${s.port}/readyz`)
            .then((r) => r.ok)
            .catch(() => false),
        `${s.name} to be ready`,
        60_000,
      ),
    ),
  );
  // The sales example has push sources (its CDC variant is in pipelines/variants): seed it once
  // with the deterministic sample data, so its warehouse builds on a first `npm start`. The
  // pushes carry Idempotency-Keys, so running this again changes nothing.
  const seed = path.join(ROOT, 'pipelines/sales/generate-sales.js');
  const hasSales = (() => {
    try {
      return fs.statSync(env.TRIBUTARY_PIPELINES).isDirectory() && fs.readdirSync(env.TRIBUTARY_PIPELINES).includes('sales.yaml');
    } catch {
      return false;
    }
  })();
  if (fs.existsSync(seed) && hasSales) {
    const s = spawnSync(process.execPath, [seed, '--push', `http://127.0.0.1:${SERVICES[0].port}`], { env, encoding: 'utf8' });
    say(
      s.status === 0
        ? 'pushed the sales sample data (pipelines/sales/generate-sales.js)'
        : `sales sample push failed: ${s.stderr || s.stdout}`,
    );
  }
  const db = new URL(env.DATABASE_URL);
  process.stdout.write(`
Tributary is running.
  monitor      http://127.0.0.1:${SERVICES[3].port}/api/pipelines   (dashboard, /metrics)
  ingest-api   http://127.0.0.1:${SERVICES[0].port}/v1/pipelines/{pipeline}/sources/{source}/records
  transformer  http://127.0.0.1:${SERVICES[1].port}/metrics
  loader       http://127.0.0.1:${SERVICES[2].port}/metrics
  NATS         ${env.NATS_URL}
  PostgreSQL   ${db.host}${db.pathname} (tables in schema "warehouse", bookkeeping in "tributary")
  pipelines    ${env.TRIBUTARY_PIPELINES}
  logs         ${LOGS}
${generators}
Push your own records:
  curl -X POST localhost:${SERVICES[0].port}/v1/pipelines/traffic/sources/gantry/records \\
       -H 'content-type: application/x-ndjson' --data-binary @pipelines/samples/passages.ndjson

A service that dies is restarted (printed here). Ctrl-C drains and stops everything.
`);
}

/**
 * What the demo generators will make, so nobody is surprised by a full disk: each generator
 * source's rate and bound (`duration` / `total` in its pipeline, GENERATOR_DURATION overrides).
 */
function describeGenerators() {
  let pipelines;
  try {
    pipelines = require(path.join(ROOT, 'packages/contract/dist/spec/load-pipeline.js')).loadPipelines(env.TRIBUTARY_PIPELINES);
  } catch {
    return '';
  }
  const { parseDuration } = require(path.join(ROOT, 'packages/contract/dist/spec/common.js'));
  const override = env.GENERATOR_DURATION;
  const fmt = (ms) => (ms === 'unbounded' ? 'unbounded' : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);
  const lines = [];
  for (const p of pipelines)
    for (const [name, src] of Object.entries(p.sources)) {
      if (src.kind !== 'generator') continue;
      const duration = override ? (override === 'unbounded' ? override : parseDuration(override)) : src.duration;
      const total = src.total ? `, at most ${src.total} records` : '';
      lines.push(`  ${`${p.name}/${name}`.padEnd(28)} ${src.rate} records/s for ${fmt(duration)}${total}`);
    }
  if (lines.length === 0) return '';
  return `\nDemo generators (then they stop; set duration/total in the pipeline, or GENERATOR_DURATION=30m|unbounded):\n${lines.join('\n')}\n`;
}

main().catch((err) => {
  process.stderr.write(`tributary: ${err.message}\n`);
  void shutdown(1);
});

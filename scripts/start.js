#!/usr/bin/env node
/**
 * `npm start`: the local runner. Uses NATS and PostgreSQL when they answer at NATS_URL and
 * DATABASE_URL, starts its own (data kept under .tributary/ or /var/tmp/tributary when root)
 * when they do not, runs `migrate`, starts the four services, prints where everything is, and
 * drains everything on Ctrl-C.
 */
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const env = {
  NATS_URL: 'nats://127.0.0.1:4222',
  DATABASE_URL: 'postgres://127.0.0.1:5432/tributary',
  TRIBUTARY_PIPELINES: path.join(ROOT, 'pipelines'),
  ...process.env,
};
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
  // Our own server has only the postgres role; use it unless the URL names a user.
  if (!u.username) {
    u.username = 'postgres';
    env.DATABASE_URL = u.toString();
  }
  say(`started PostgreSQL ${versions.at(-1)} on ${host}:${port} (data ${data})`);
}

function startService(s) {
  const log = fs.createWriteStream(path.join(LOGS, `${s.name}.log`), { flags: 'a' });
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
  p.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${s.name} exited (${signal || code}); see ${path.join(LOGS, `${s.name}.log`)}. Stopping.`);
      void shutdown(1);
    }
  });
  services.push({ ...s, proc: p });
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
  if (stopping) return;
  stopping = true;
  say('draining services...');
  await Promise.all(
    services.map((s) => new Promise((r) => (s.proc.exitCode !== null ? r() : (s.proc.once('exit', r), s.proc.kill('SIGTERM'))))),
  );
  await fakeApis?.stop();
  for (const o of owned.reverse()) {
    await new Promise((r) => (o.proc.exitCode !== null ? r() : (o.proc.once('exit', r), o.proc.kill(o.signal))));
    say(`stopped ${o.name}`);
  }
  say('bye');
  process.exit(code);
}

async function main() {
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  await ensureNats();
  await ensurePostgres();
  const m = spawnSync(process.execPath, [path.join(ROOT, 'packages/core/dist/cli.js'), 'migrate'], { env, encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`migrate failed:\n${m.stderr || m.stdout}`);
  say('migrate: streams, consumers, KV buckets and warehouse tables in place');
  await startFakeApis();
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

Push your own records:
  curl -X POST localhost:${SERVICES[0].port}/v1/pipelines/traffic/sources/gantry/records \\
       -H 'content-type: application/x-ndjson' --data-binary @pipelines/samples/passages.ndjson

Ctrl-C drains and stops everything.
`);
}

main().catch((err) => {
  process.stderr.write(`tributary: ${err.message}\n`);
  void shutdown(1);
});

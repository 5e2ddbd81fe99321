/**
 * The service images, built by scripts/images and run with podman the way Kubernetes runs them
 * (non-root, read-only root filesystem, no capabilities, no privilege escalation, /tmp a tmpfs):
 * migrate from the loader image, the four services against private NATS and PostgreSQL on the
 * host network, records pushed through ingest-api, then the warehouse and the monitor checked.
 */
import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, NatsServer, PostgresServer, stopAll, waitFor } from '@tributary/testkit';
import { Client } from 'pg';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const TAG = 'test';
const SERVICES = { 'ingest-api': 'INGEST_PORT', transformer: 'TRANSFORMER_PORT', loader: 'LOADER_PORT', monitor: 'MONITOR_PORT' } as const;
type Service = keyof typeof SERVICES;
const PODMAN_ENV = { ...process.env, CONTAINERS_CONF: path.join(ROOT, 'deploy/podman/containers.conf') };
const RECORDS = 2_000;

const podman = async (args: string[]): Promise<string> =>
  (await run('podman', args, { env: PODMAN_ENV, maxBuffer: 16 * 1024 * 1024 })).stdout;

/** The flags that mirror the chart's pod and container security context. */
const RESTRICTED = [
  '--read-only',
  '--tmpfs',
  '/tmp:rw,size=64m',
  '--cap-drop',
  'ALL',
  '--security-opt',
  'no-new-privileges',
  '--user',
  '65532:65532',
];

jest.setTimeout(25 * 60_000);

describe('service images', () => {
  const containers: string[] = [];
  const ports = new Map<Service, number>();
  let nats: NatsServer;
  let pg: PostgresServer;
  let databaseUrl: string;
  let buildSeconds = 0;

  beforeAll(async () => {
    const started = Date.now();
    execFileSync(path.join(ROOT, 'scripts/images'), ['--tag', TAG], { cwd: ROOT, stdio: 'inherit', timeout: 20 * 60_000 });
    buildSeconds = Math.round((Date.now() - started) / 1000);
    [nats, pg] = await Promise.all([NatsServer.start(), PostgresServer.start()]);
    databaseUrl = pg.url('tributary');
  });

  afterAll(async () => {
    for (const c of containers) await podman(['rm', '-f', '-t', '5', c]).catch(() => undefined);
    await stopAll();
  });

  const env = (extra: Record<string, string> = {}): string[] =>
    Object.entries({ NATS_URL: nats.url, DATABASE_URL: databaseUrl, INGEST_GENERATORS: 'false', LOG_LEVEL: 'warn', ...extra }).flatMap(
      ([k, v]) => ['--env', `${k}=${v}`],
    );

  it('builds the four images from the one Dockerfile; each runs its service as a non-root user with no shell', async () => {
    process.stdout.write(`images built in ${buildSeconds} s\n`);
    for (const s of Object.keys(SERVICES)) {
      const [info] = JSON.parse(await podman(['image', 'inspect', `localhost/tributary/${s}:${TAG}`]));
      expect(info.Config.User).toBe('65532:65532');
      expect(info.Config.Entrypoint).toEqual(['/nodejs/bin/node']);
      expect(info.Config.Cmd).toEqual(['main.js']);
      expect(info.Config.Env).toContain(`TRIBUTARY_SERVICE=${s}`);
      expect(info.Config.Labels['org.opencontainers.image.title']).toBe(`tributary-${s}`);
      process.stdout.write(`localhost/tributary/${s}:${TAG}: ${Math.round(info.Size / 1e6)} MB\n`);
      expect(info.Size).toBeLessThan(250e6);
      // Production dependencies only: no compiler, test runner or linter in the image.
      const listing = await podman([
        'run',
        '--rm',
        ...RESTRICTED,
        `localhost/tributary/${s}:${TAG}`,
        '-e',
        'console.log(require("fs").readdirSync("node_modules").join(" "))',
      ]);
      for (const dev of ['typescript', 'jest', 'eslint', '@swc', '@pulumi']) expect(listing.split(' ')).not.toContain(dev);
    }
    await expect(podman(['run', '--rm', '--entrypoint', '/bin/sh', `localhost/tributary/loader:${TAG}`, '-c', 'true'])).rejects.toThrow();
  });

  it('runs migrate from an image, then the four services, and lands pushed records in the warehouse', async () => {
    await podman(['run', '--rm', ...RESTRICTED, ...env(), `localhost/tributary/loader:${TAG}`, 'apps/cli/dist/cli.js', 'migrate']);
    for (const s of Object.keys(SERVICES) as Service[]) {
      const port = await freePort();
      ports.set(s, port);
      const name = `tributary-images-test-${s}-${process.pid}`;
      containers.push(name);
      await podman([
        'run',
        '-d',
        '--name',
        name,
        ...RESTRICTED,
        ...env({ [SERVICES[s]]: String(port) }),
        `localhost/tributary/${s}:${TAG}`,
      ]);
    }
    for (const [s, port] of ports) {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok, {
        timeoutMs: 60_000,
        what: `${s} ready`,
      }).catch(async (err: Error) => {
        // What the service printed says why (a crash at start, a missing module), not just that it timed out.
        const name = `tributary-images-test-${s}-${process.pid}`;
        const logs = await run('podman', ['logs', '--tail', '40', name], { env: PODMAN_ENV }).catch((e: { stderr?: string }) => ({
          stdout: '',
          stderr: e.stderr ?? '',
        }));
        throw new Error(`${err.message}\n--- podman logs ${name} ---\n${logs.stdout}${logs.stderr}`);
      });
    }

    const lines = Array.from({ length: RECORDS }, (_, i) =>
      JSON.stringify({
        event_id: `img-${i}`,
        gantry_id: `G${String(i % 50).padStart(3, '0')}`,
        plate: `AB${i}`,
        speed_mph: 30 + (i % 50),
        lane: 1 + (i % 4),
        passengers: i % 5,
        observed_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 3600)).toISOString(),
      }),
    );
    const res = await fetch(`http://127.0.0.1:${ports.get('ingest-api')}/v1/pipelines/traffic/sources/gantry/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': 'images-test' },
      body: lines.join('\n'),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ accepted: RECORDS, rejected: 0 });

    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const loaded = await waitFor(
        async () => {
          const r = await db.query<{ n: string; keys: string }>(
            'select count(*) as n, count(distinct event_id) as keys from warehouse.fact_passage',
          );
          return Number(r.rows[0]!.n) >= RECORDS ? r.rows[0] : undefined;
        },
        { timeoutMs: 120_000, what: 'records in warehouse.fact_passage' },
      );
      expect({ rows: Number(loaded!.n), keys: Number(loaded!.keys) }).toEqual({ rows: RECORDS, keys: RECORDS });
      // Plates are pseudonymised by the transformer image, speeds converted.
      const sample = await db.query('select plate, speed_kmh from warehouse.fact_passage where event_id = $1', ['img-0']);
      expect(sample.rows[0].plate).not.toBe('AB0');
      expect(Number(sample.rows[0].speed_kmh)).toBeCloseTo(48.3, 1);
    } finally {
      await db.end();
    }

    const status = await waitFor(
      async () => {
        const r = await fetch(`http://127.0.0.1:${ports.get('monitor')}/api/pipelines/traffic`).catch(() => undefined);
        const body = r?.ok ? ((await r.json()) as any) : undefined;
        return body && JSON.stringify(body).includes(String(RECORDS)) ? body : undefined;
      },
      { timeoutMs: 60_000, what: 'monitor counts' },
    );
    expect(JSON.stringify(status)).toContain(`"accepted":${RECORDS}`);
    const metrics = await (await fetch(`http://127.0.0.1:${ports.get('loader')}/metrics`)).text();
    expect(metrics).toMatch(/tributary_records_total\{[^}]*outcome="loaded"[^}]*\} 2000/);
  });
});

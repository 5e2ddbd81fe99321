/**
 * The `npm start` runner (scripts/start.js) as real processes: with USER unset and a database URL
 * without a user it uses the NATS and PostgreSQL it finds; a service killed with SIGKILL is
 * restarted and the restart printed; SIGTERM stops everything within 10 s and frees every port.
 * Through `npm start` with nothing answering, it starts its own NATS and PostgreSQL, and SIGTERM
 * sent to `npm` alone stops all of it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, NatsServer, PostgresServer, stopAll, waitFor } from '@tributary/testkit';

jest.setTimeout(240_000);
afterAll(stopAll);

const ROOT = path.resolve(__dirname, '../..');
const SERVICES = ['INGEST_PORT', 'TRANSFORMER_PORT', 'LOADER_PORT', 'MONITOR_PORT'] as const;

/** Whether something accepts connections on 127.0.0.1:port. */
const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A started runner with its output so far. */
class Runner {
  out = '';
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  constructor(readonly proc: ChildProcess) {
    proc.stdout!.on('data', (c: Buffer) => (this.out += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => (this.out += c.toString()));
    proc.on('exit', (code, signal) => (this.exit = { code, signal }));
  }
  /** Waits for output matching `re`; returns the match. */
  async see(re: RegExp, timeoutMs = 120_000): Promise<RegExpMatchArray> {
    return waitFor(async () => this.out.match(re) ?? false, {
      timeoutMs,
      intervalMs: 100,
      what: `runner output ${re} (so far:\n${this.out.slice(-3000)})`,
    });
  }
  pids(): number[] {
    return [...this.out.matchAll(/(?:started|restarted) \S+ \(pid (\d+)/g)].map((m) => Number(m[1]));
  }
}

/** A pipelines folder with the traffic pipeline, its generator bounded to 2 minutes. */
function pipelines(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'trib-runner-pipelines-'));
  cpSync(path.join(ROOT, 'pipelines/schemas'), path.join(dir, 'schemas'), { recursive: true });
  writeFileSync(
    path.join(dir, 'traffic.yaml'),
    readFileSync(path.join(ROOT, 'pipelines/traffic.yaml'), 'utf8').replace('rate: 200/s', 'rate: 50/s\n    duration: 2m'),
  );
  return dir;
}

async function baseEnv(state: string): Promise<Record<string, string>> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  delete env.USER;
  delete env.LOGNAME;
  delete env.PGUSER;
  for (const v of SERVICES) env[v] = String(await freePort());
  return { ...env, TRIBUTARY_STATE_DIR: state, TRIBUTARY_PIPELINES: pipelines(), LOG_LEVEL: 'warn' };
}

describe('npm start runner', () => {
  it('uses the running NATS and PostgreSQL with USER unset, restarts a killed service, and stops everything on SIGTERM', async () => {
    const [nats, pg] = await Promise.all([NatsServer.start(), PostgresServer.start()]);
    const state = mkdtempSync(path.join(tmpdir(), 'trib-runner-'));
    const env = await baseEnv(state);
    // No user in the URL: the runner, migrate and the services connect as postgres, not as $USER.
    env.NATS_URL = nats.url;
    env.DATABASE_URL = `postgres://127.0.0.1:${pg.port}/tributary`;
    const runner = new Runner(spawn(process.execPath, [path.join(ROOT, 'scripts/start.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      await runner.see(/Tributary is running/);
      expect(runner.out).toMatch(/traffic\/simulator\s+50 records\/s for 2 min/);
      const loader = Number((await runner.see(/started loader \(pid (\d+)/))[1]);
      process.kill(loader, 'SIGKILL');
      await runner.see(/loader exited \(SIGKILL\); restarting it in 1 s \(restart 1\)/, 30_000);
      await runner.see(/restarted loader \(pid \d+/, 30_000);
      await waitFor(async () => (await fetch(`http://127.0.0.1:${env.LOADER_PORT}/readyz`)).ok, {
        timeoutMs: 60_000,
        what: 'the restarted loader to be ready',
      });
      // The restarted loader works: the generator's passages reach the warehouse.
      await waitFor(
        async () => (await pg.query<{ n: number }>('SELECT count(*)::int AS n FROM warehouse.fact_passage', [], 'tributary'))[0]!.n > 0,
        {
          timeoutMs: 60_000,
          intervalMs: 500,
          what: 'passages in the warehouse',
        },
      );

      // The CLI too takes postgres when the URL names no user and USER is unset.
      for (const cmd of ['migrate', 'check', 'models']) {
        const r = spawnSync(process.execPath, [path.join(ROOT, 'apps/cli/dist/cli.js'), cmd], { env, encoding: 'utf8' });
        expect({ cmd, status: r.status, stderr: r.stderr }).toEqual({ cmd, status: 0, stderr: '' });
      }

      const pids = runner.pids();
      runner.proc.kill('SIGTERM');
      await waitFor(async () => runner.exit, { timeoutMs: 10_000, what: 'the runner to exit within 10 s of SIGTERM' });
      expect(runner.exit).toEqual({ code: 0, signal: null });
      for (const v of SERVICES) expect(await answers(Number(env[v]))).toBe(false);
      expect(pids.filter(alive)).toEqual([]);
      // Servers it did not start are left running.
      expect(await answers(nats.port)).toBe(true);
    } finally {
      if (!runner.exit) runner.proc.kill('SIGKILL');
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('through npm start, starts its own NATS and PostgreSQL, and SIGTERM to npm alone stops all of it', async () => {
    const state = mkdtempSync(path.join(tmpdir(), 'trib-runner-own-'));
    const env = await baseEnv(state);
    const [natsPort, pgPort] = [await freePort(), await freePort()];
    env.NATS_URL = `nats://127.0.0.1:${natsPort}`;
    env.DATABASE_URL = `postgres://127.0.0.1:${pgPort}/tributary`;
    const npm = new Runner(spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      await npm.see(/Tributary is running/, 200_000);
      expect(npm.out).toMatch(/started nats-server -js/);
      expect(npm.out).toMatch(/started PostgreSQL/);
      const runnerPid = Number((await npm.see(/runner pid (\d+)/))[1]);
      const pids = [runnerPid, ...npm.pids()];
      npm.proc.kill('SIGTERM');
      await waitFor(async () => !alive(runnerPid), { timeoutMs: 10_000, what: 'the runner to exit within 10 s of SIGTERM to npm' });
      for (const port of [natsPort, pgPort, ...SERVICES.map((v) => Number(env[v]))]) expect(await answers(port)).toBe(false);
      expect(pids.filter(alive)).toEqual([]);
    } finally {
      if (!npm.exit) npm.proc.kill('SIGKILL');
      rmSync(state, { recursive: true, force: true });
    }
  });
});

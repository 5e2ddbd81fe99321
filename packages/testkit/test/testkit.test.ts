import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Client } from 'pg';
import { freePort, httpStatus, NatsServer, PostgresServer, spawnService, stopAll, trackedResources, waitFor } from '@tributary/testkit';

// The integration project's `testTimeout` in jest.config.js does not apply: jest reads that option
// only from the top-level config. Starting PostgreSQL on a loaded 2-core machine can exceed 5 s.
jest.setTimeout(60_000);
afterAll(stopAll);

// A stand-in service: answers /ready once up, logs, exits 0 on SIGTERM, or crashes when told.
const scratch = mkdtempSync(join(tmpdir(), 'testkit-test-'));
const script = join(scratch, 'service.js');
writeFileSync(
  script,
  `const http = require('node:http');
   const server = http.createServer((req, res) => { res.statusCode = req.url === '/ready' ? 200 : 404; res.end(process.env.GREETING); });
   server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
   process.on('SIGTERM', () => { console.log('bye'); server.close(() => process.exit(0)); });
   if (process.env.CRASH) { console.error('boom: bad config'); process.exit(3); }`,
);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Live processes whose parent is `ppid`, read from /proc (running `ps` would list itself). */
function childProcesses(ppid: number): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, ...
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(parent) === ppid && state !== 'Z') found.push(`${entry} ${stat.slice(stat.indexOf('('), stat.lastIndexOf(')') + 1)}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function streamMessages(server: NatsServer, stream: string): Promise<number> {
  const nc = await connect({ servers: server.url });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

describe('freePort and waitFor', () => {
  test('freePort returns distinct bindable ports', async () => {
    const [a, b] = await Promise.all([freePort(), freePort()]);
    expect(a).toBeGreaterThan(0);
    expect(a).not.toBe(b);
  });

  test('waitFor returns the first truthy value and names what timed out', async () => {
    let calls = 0;
    await expect(
      waitFor(async () => (++calls >= 3 ? 'done' : undefined), {
        timeoutMs: 1_000,
        intervalMs: 1,
        what: 'x',
      }),
    ).resolves.toBe('done');
    await expect(
      waitFor(
        async () => {
          throw new Error('connection refused');
        },
        { timeoutMs: 50, intervalMs: 10, what: 'the loader to commit' },
      ),
    ).rejects.toThrow(/the loader to commit.*last error: connection refused/);
    await expect(waitFor(async () => false, { timeoutMs: 30, what: 'a flag' })).rejects.toThrow(/a flag.*last value: false/);
  });
});

describe('NatsServer', () => {
  test('runs JetStream and keeps stream data across restart() and kill()', async () => {
    const server = await NatsServer.start();
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(await httpStatus(`${server.monitorUrl}/healthz?js-enabled-only=true`)).toBe(200);
    expect(server.storeDir.startsWith(server.dir)).toBe(true);

    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
    const js = jetstream(nc);
    for (let i = 1; i <= 3; i++) await js.publish(`orders.${i}`, `order ${i}`);
    await nc.close();

    const port = server.port;
    await server.restart();
    expect(server.port).toBe(port);
    expect(await streamMessages(server, 'ORDERS')).toBe(3);

    const nc2 = await connect({ servers: server.url });
    const stored = await (await jetstreamManager(nc2)).streams.getMessage('ORDERS', { seq: 2 });
    expect(stored?.string()).toBe('order 2');
    await nc2.close();

    const pid = server.pid;
    await server.kill();
    expect(server.running).toBe(false);
    expect(isAlive(pid!)).toBe(false);
    await server.restart();
    expect(await streamMessages(server, 'ORDERS')).toBe(3);

    await server.cleanup();
    expect(existsSync(server.dir)).toBe(false);
  });

  test('applies maxPayload and configExtra', async () => {
    const server = await NatsServer.start({
      maxPayload: 4 * 1024 * 1024,
      configExtra: 'max_connections: 50',
    });
    const nc = await connect({ servers: server.url });
    expect(nc.info?.max_payload).toBe(4 * 1024 * 1024);
    await nc.close();
    const varz = (await (await fetch(`${server.monitorUrl}/varz`)).json()) as {
      max_connections: number;
    };
    expect(varz.max_connections).toBe(50);
    await server.cleanup();
  });

  test('two servers run at once, independently', async () => {
    const [a, b] = await Promise.all([NatsServer.start(), NatsServer.start()]);
    expect(a.port).not.toBe(b.port);
    const nc = await connect({ servers: a.url });
    await (await jetstreamManager(nc)).streams.add({ name: 'ONLY_A', subjects: ['a.>'] });
    await nc.close();
    const ncb = await connect({ servers: b.url });
    await expect((await jetstreamManager(ncb)).streams.info('ONLY_A')).rejects.toThrow(/stream not found/);
    await ncb.close();
    await Promise.all([a.cleanup(), b.cleanup()]);
  });

  test('a broken config fails fast with the log tail', async () => {
    const started = Date.now();
    await expect(NatsServer.start({ configExtra: 'this is { not valid' })).rejects.toThrow(
      /exited with code .*before it was ready[\s\S]*nats-server\.log/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('PostgresServer', () => {
  test('creates databases; data survives restart() and kill()', async () => {
    const server = await PostgresServer.start();
    const url = await server.createDatabase('orders');
    expect(url).toBe(`postgres://postgres@127.0.0.1:${server.port}/orders`);
    expect(server.url()).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);

    await server.query('CREATE TABLE t (id int PRIMARY KEY, note text)', [], 'orders');
    await server.query("INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 100) i", [], 'orders');

    const port = server.port;
    await server.restart();
    expect(server.port).toBe(port);
    expect(await server.query('SELECT count(*)::int AS n FROM t', [], 'orders')).toEqual([{ n: 100 }]);

    // A client connected during the crash: its backend must go away with the postmaster.
    const client = new Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    for (let i = 101; i <= 200; i++) await client.query('INSERT INTO t VALUES ($1, $2)', [i, `row ${i}`]);
    const pid = server.pid!;
    await server.kill();
    expect(isAlive(pid)).toBe(false);
    await server.restart();
    // Every acknowledged commit survives the crash (synchronous_commit stays on).
    expect(await server.query('SELECT count(*)::int AS n FROM t', [], 'orders')).toEqual([{ n: 200 }]);
    await client.end().catch(() => undefined);

    await server.cleanup();
    expect(existsSync(server.dir)).toBe(false);
  });

  test('passes extra settings, e.g. wal_level=logical', async () => {
    const server = await PostgresServer.start({
      settings: { wal_level: 'logical', max_connections: 30 },
    });
    expect(await server.query('SHOW wal_level')).toEqual([{ wal_level: 'logical' }]);
    expect(await server.query('SHOW max_connections')).toEqual([{ max_connections: '30' }]);
    expect(await server.query('SHOW fsync')).toEqual([{ fsync: 'off' }]);
    await server.cleanup();
  });

  test('a bad setting fails fast with the log tail', async () => {
    const started = Date.now();
    await expect(PostgresServer.start({ settings: { no_such_setting: 1 } })).rejects.toThrow(
      /postgres on port \d+ exited with code 1 before it was ready[\s\S]*no_such_setting/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('two servers run at once, independently', async () => {
    const [a, b] = await Promise.all([PostgresServer.start(), PostgresServer.start()]);
    expect(a.port).not.toBe(b.port);
    await a.createDatabase('only_a');
    expect(await b.query("SELECT count(*)::int AS n FROM pg_database WHERE datname = 'only_a'")).toEqual([{ n: 0 }]);
    await Promise.all([a.cleanup(), b.cleanup()]);
  });
});

describe('spawnService', () => {
  test('waits for readiness, merges env, stops with SIGTERM', async () => {
    const port = await freePort();
    const service = await spawnService({
      name: 'echo',
      script,
      env: { PORT: String(port), GREETING: 'hi' },
      readyUrl: `http://127.0.0.1:${port}/ready`,
    });
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('hi');
    expect(await service.stop()).toBe(0);
    expect(await service.exited).toBe(0);
    expect(service.logTail()).toMatch(/listening[\s\S]*bye/);
    await service.cleanup();
  });

  test('kill(signal) ends it; exited reports null for a signal', async () => {
    const port = await freePort();
    const service = await spawnService({
      name: 'echo',
      script,
      env: { PORT: String(port) },
      readyUrl: `http://127.0.0.1:${port}/ready`,
    });
    service.kill('SIGKILL');
    expect(await service.exited).toBeNull();
    await service.cleanup();
  });

  test('a service that exits during startup fails fast with its log tail', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(
      spawnService({
        name: 'crasher',
        script,
        env: { PORT: String(port), CRASH: '1' },
        readyUrl: `http://127.0.0.1:${port}/ready`,
      }),
    ).rejects.toThrow(/crasher.*exited with code 3 before it was ready[\s\S]*boom: bad config/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('stopAll', () => {
  test('stops and removes everything still running, leaving no child processes', async () => {
    const [nats, pg] = await Promise.all([NatsServer.start(), PostgresServer.start()]);
    const port = await freePort();
    const service = await spawnService({
      name: 'leftover',
      script,
      env: { PORT: String(port) },
      readyUrl: `http://127.0.0.1:${port}/ready`,
    });
    const pids = [nats.pid!, pg.pid!, service.pid];
    const children = childProcesses(process.pid).map((entry) => Number(entry.split(' ')[0]));
    expect(children).toEqual(expect.arrayContaining(pids));
    expect(trackedResources()).toHaveLength(3);
    await stopAll();
    expect(trackedResources()).toEqual([]);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(existsSync(nats.dir) || existsSync(pg.dir)).toBe(false);
    // Nothing of ours is left: the three are gone, and so are the postmaster's backends (it waits
    // for them before exiting), since nothing else in this file is still running.
    expect(childProcesses(process.pid)).toEqual([]);
    expect(childProcesses(pids[1])).toEqual([]);
  });
});

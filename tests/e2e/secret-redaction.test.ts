/**
 * Secrets never leave a service: with a PostgreSQL password in DATABASE_URL and a NATS password
 * in NATS_PASSWORD, neither shows up in any log line, in the readiness answers or API error
 * bodies while PostgreSQL is down, nor in what a failing start (wrong NATS password) or a
 * failing `migrate` (unreachable database) prints.
 */
import { readFileSync } from 'node:fs';
import { freePort, waitFor } from '@tributary/testkit';
import { Stack } from './stack';

jest.setTimeout(240_000);
const PG_SECRET = 'pg-Secret-9f3a1c';
const NATS_SECRET = 'nats-Secret-4b7e2d';
const SECRETS = [PG_SECRET, NATS_SECRET, encodeURIComponent(PG_SECRET)];

/** Fails naming the secret and where it leaked. */
function expectNoSecret(where: string, text: string): void {
  for (const s of SECRETS) expect({ where, leaked: text.includes(s) ? s : undefined }).toEqual({ where, leaked: undefined });
}

describe('secret redaction', () => {
  let stack: Stack;
  const creds = { NATS_USER: 'svc', NATS_PASSWORD: NATS_SECRET };

  beforeAll(async () => {
    stack = await Stack.start({
      services: [],
      natsConfig: `authorization { users: [ { user: svc, password: "${NATS_SECRET}" } ] }`,
      serviceEnv: { migrate: creds },
    });
    // Trust authentication accepts any password; what matters is where this one travels.
    const databaseUrl = `postgres://postgres:${PG_SECRET}@127.0.0.1:${stack.pg.port}/tributary`;
    for (const s of ['loader', 'monitor'] as const)
      await stack.startService(s, { ...creds, DATABASE_URL: databaseUrl, LOG_LEVEL: 'debug' });
  }, 180_000);

  afterAll(async () => stack?.stopAll());

  it('keeps them out of readiness answers and API errors while PostgreSQL is down', async () => {
    await stack.pg.stop();
    try {
      for (const s of ['loader', 'monitor'] as const) {
        const body = await waitFor(
          async () => {
            const r = await fetch(`${stack.url(s)}/readyz`);
            return r.status === 503 ? await r.text() : undefined;
          },
          { timeoutMs: 60_000, what: `${s} to report PostgreSQL down` },
        );
        expect(body).toMatch(/not ready/);
        expectNoSecret(`${s} /readyz`, body);
      }
      for (const p of ['/api/pipelines/traffic', '/api/pipelines/traffic/series', '/api/dlq?pipeline=traffic']) {
        const r = await fetch(`${stack.url('monitor')}${p}`);
        expectNoSecret(`monitor ${p} (${r.status})`, await r.text());
      }
    } finally {
      await stack.pg.restart();
    }
  });

  it('keeps them out of failed starts and of migrate errors', async () => {
    // A monitor with a wrong NATS password (its log is kept for the next test).
    await stack.stop('monitor');
    const failed = await stack.startService('monitor', { NATS_USER: 'svc', NATS_PASSWORD: `${NATS_SECRET}-wrong` }).then(
      () => 'started',
      (err: Error) => err.message, // carries the tail of everything the process printed
    );
    expect(failed).toMatch(/before it was ready[\s\S]*Authorization/i);
    expectNoSecret('failed start', failed);
    const closed = await freePort();
    const migrate = await stack
      .cli(['migrate'], { ...creds, DATABASE_URL: `postgres://postgres:${PG_SECRET}@127.0.0.1:${closed}/tributary` })
      .then(
        () => undefined,
        (err: { stderr?: string; stdout?: string }) => `${err.stderr ?? ''}${err.stdout ?? ''}`,
      );
    expect(migrate).toMatch(/TRIB_E_WAREHOUSE_UNAVAILABLE/);
    expectNoSecret('migrate output', migrate!);
  });

  it('keeps them out of every log line the services wrote', async () => {
    for (const s of ['loader', 'monitor'] as const) {
      const log = readFileSync(stack.procs.get(s)!.logPath, 'utf8');
      expect(log.length).toBeGreaterThan(0);
      expectNoSecret(`${s} log`, log);
    }
  });
});

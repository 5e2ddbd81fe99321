/**
 * The shipped NATS configuration (deploy/nats/nats-server.conf) with one user per service: the
 * whole pipeline works when each service connects with only its own permissions (the DLQ console's
 * preview, a request from the monitor answered by a transformer, and the ingest user reading its
 * source's newest raw message, included), and the server
 * refuses a service that steps outside them, or a wrong password.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { waitFor } from '@tributary/testkit';
import { readLastPublished } from '../../services/ingest-api/src/scheduling/stream-reader';
import { ndjson } from './passages';
import { Stack } from './stack';

jest.setTimeout(240_000);
const ROOT = path.resolve(__dirname, '../..');
const TOKEN = 'least-privilege-admin-token-0123';
const PASSWORDS = { ADMIN: 'admin-pw', INGEST: 'ingest-pw', TRANSFORMER: 'transformer-pw', LOADER: 'loader-pw', MONITOR: 'monitor-pw' };

/** The shipped config, with the password variables filled in and the store dir left to the test kit. */
function natsConfig(): string {
  let text = readFileSync(path.join(ROOT, 'deploy/nats/nats-server.conf'), 'utf8').replace(/^jetstream:.*$/m, '');
  for (const [k, v] of Object.entries(PASSWORDS)) text = text.replaceAll(`$${k}_PASSWORD`, `"${v}"`);
  return text;
}

describe('least-privilege NATS users', () => {
  let stack: Stack;
  beforeAll(async () => {
    const creds = (user: string, pw: string) => ({ NATS_USER: user, NATS_PASSWORD: pw });
    stack = await Stack.start({
      natsConfig: natsConfig(),
      env: { MONITOR_ADMIN_TOKEN: TOKEN },
      serviceEnv: {
        migrate: creds('admin', PASSWORDS.ADMIN),
        'ingest-api': creds('ingest', PASSWORDS.INGEST),
        transformer: creds('transformer', PASSWORDS.TRANSFORMER),
        loader: creds('loader', PASSWORDS.LOADER),
        monitor: creds('monitor', PASSWORDS.MONITOR),
      },
    });
  }, 180_000);
  afterAll(async () => stack?.stopAll());

  it('moves records from push to the warehouse with each service limited to its own subjects', async () => {
    const r = await stack.push('gantry', ndjson(0, 300), { 'idempotency-key': 'lp-1' });
    expect(r.status).toBe(202);
    const again = await stack.push('gantry', ndjson(0, 300), { 'idempotency-key': 'lp-1' });
    expect(again.headers.get('idempotent-replayed')).toBe('true'); // KV works for the ingest user
    await waitFor(
      async () => ((await stack.status().catch(() => undefined))?.tables?.fact_passage?.loaded === r.json.accepted - 6 ? true : undefined),
      {
        timeoutMs: 60_000,
        what: 'records loaded',
      },
    );
  });

  it("lets the ingest user read its source's newest raw message (where an interrupted CDC snapshot resumes)", async () => {
    const nc = await connect({ servers: stack.nats.url, user: 'ingest', pass: PASSWORDS.INGEST });
    try {
      const last = await readLastPublished(jetstream(nc), 'traffic', 'gantry');
      expect(last?.records.length).toBeGreaterThan(0);
      expect(last?.records[0]).toHaveProperty('gantry_id');
    } finally {
      await nc.close();
    }
  });

  it('lets the monitor ask a transformer for a preview of a fixed dead letter', async () => {
    const { dead_letters } = (await (await fetch(`${stack.url('monitor')}/api/dlq?pipeline=traffic&limit=1`)).json()) as {
      dead_letters: { seq: number }[];
    };
    const r = await fetch(`${stack.url('monitor')}/api/dlq/preview`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ seqs: [dead_letters[0]!.seq], fix: { set: { lane: '1' } } }),
    });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { records: { outcome: string }[] }).records.map((x) => x.outcome)).toEqual(['load']);
  });

  it('refuses a wrong password and a service publishing outside its permissions', async () => {
    await expect(connect({ servers: stack.nats.url, user: 'loader', pass: 'wrong', reconnect: false })).rejects.toThrow(/Authorization/i);
    const nc = await connect({ servers: stack.nats.url, user: 'loader', pass: PASSWORDS.LOADER });
    const errors: string[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'error') errors.push(String(s.error));
    })();
    nc.publish('trib.raw.traffic.gantry', 'forged');
    await nc.flush();
    await waitFor(async () => (errors.some((e) => /permission/i.test(e)) ? true : undefined), {
      timeoutMs: 10_000,
      what: 'a permissions violation',
    });
    await nc.close();
  });
});

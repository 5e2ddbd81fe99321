/**
 * DLQ write actions against a real nats-server and PostgreSQL: replay publishes the stored record
 * to its replay subject with message ID `replay:<dlq seq>` and `Trib-Replay-Of`, discard marks
 * dead letters, "all matching" follows the listing's filter, already handled entries are skipped
 * unless forced, every request lands in the audit trail, and nothing is written without the token
 * or from another site; the API and the dashboard answer with the security headers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, DEFAULT_TOPOLOGY, publishDeadLetter, Publisher, type DeadLetter } from '@tributary/runtime/nats';
import { createLogger } from '@tributary/runtime/logger';
import { H, STREAMS, subjects } from '@tributary/contract/wire';
import { loadPipelines } from '@tributary/contract/spec';
import { migrate } from '@tributary/cli';
import { NatsServer, PostgresServer, stopAll, waitFor } from '@tributary/testkit';
import { createApp, type MonitorApp } from '../src/app';
import { loadConfig } from '../src/config';

jest.setTimeout(60_000);

const TOKEN = 'dlq-test-admin-token-42';
const logger = createLogger('dlq-actions-test', process.env.TEST_LOG_LEVEL ?? 'silent');
let nats: NatsServer;
let pg: PostgresServer;
let dir: string;
let nc: NatsConnection;
let app: MonitorApp;
let base: string;

function dead(i: number, stage: 'ingest' | 'transform', code: DeadLetter['error']['code'], message: string): DeadLetter {
  return {
    pipeline: 'shop',
    stage,
    name: stage === 'ingest' ? 'orders' : 'clean_orders',
    // Only the first carries personal data (the `email` field is `pii: true`).
    record: { order_id: `o-${i}`, amount: i, ...(i === 1 ? { email: 'buyer1@example.com' } : {}) },
    error: { code, message },
    attempts: 1,
    replaySubject: subjects.raw('shop', 'orders'),
    original: { stream: STREAMS.raw, subject: subjects.raw('shop', 'orders'), seq: i, msgId: `orders:${i}`, index: 0 },
    ingestedAt: Date.UTC(2026, 0, 1) + i,
    failedAt: new Date().toISOString(),
  };
}

async function post(
  action: string,
  body: unknown,
  token: string | null = TOKEN,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const r = await fetch(`${base}/api/dlq/${action}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-tributary-actor': 'test operator',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...extra,
    },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

async function list(query: string): Promise<any[]> {
  return ((await (await fetch(`${base}/api/dlq?${query}`)).json()) as { dead_letters: any[] }).dead_letters;
}

beforeAll(async () => {
  [nats, pg] = await Promise.all([NatsServer.start(), PostgresServer.start()]);
  dir = mkdtempSync(path.join(tmpdir(), 'tributary-dlq-actions-'));
  writeFileSync(
    path.join(dir, 'shop.yaml'),
    [
      'pipeline: shop',
      'sources:',
      '  orders: { kind: push }',
      'datasets:',
      '  clean_orders:',
      '    from: orders',
      '    fields: { order_id: string, amount: number, email: { type: string, pii: true } }',
      'tables:',
      '  fact_order: { from: clean_orders, mode: append }',
      '',
    ].join('\n'),
  );
  const config = loadConfig({
    NATS_URL: nats.url,
    DATABASE_URL: pg.url('dlq_actions'),
    TRIBUTARY_PIPELINES: dir,
    HOST: '127.0.0.1',
    MONITOR_PORT: '0',
    MONITOR_REFRESH: '0ms',
    MONITOR_ADMIN_TOKEN: TOKEN,
    LOG_LEVEL: 'silent',
  });
  await migrate({ natsUrl: nats.url, databaseUrl: config.DATABASE_URL, pipelines: loadPipelines(dir), topology: DEFAULT_TOPOLOGY, logger });
  nc = await connectNats(nats.url, 'dlq-actions-test');
  const publisher = new Publisher(jetstream(nc));
  await Promise.all([
    ...[1, 2, 3].map((i) =>
      publishDeadLetter(publisher, dead(i, 'transform', 'TRIB_E_VALIDATION', `amount ${i} is over the limit`), `dl-${i}`),
    ),
    ...[4, 5].map((i) => publishDeadLetter(publisher, dead(i, 'ingest', 'TRIB_E_VALIDATION', 'order_id is required'), `dl-${i}`)),
    publishDeadLetter(publisher, { ...dead(6, 'transform', 'TRIB_E_STEP', 'cannot read the record'), record: null }, 'dl-6'),
  ]);
  app = createApp(config, { logger });
  base = `http://127.0.0.1:${(await app.start()).port}`;
  await waitFor(async () => (await list('status=all&pipeline=shop')).length === 6, { timeoutMs: 10_000, what: 'six dead letters folded' });
});

afterAll(async () => {
  await app?.stop();
  await nc?.close();
  await stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('DLQ actions', () => {
  it('refuses to act without the admin token, and with a wrong one', async () => {
    expect((await post('replay', { seqs: [1] }, null)).status).toBe(401);
    expect((await post('discard', { seqs: [1] }, 'not-the-token-at-all')).status).toBe(401);
    expect((await list('pipeline=shop')).length).toBe(6);
  });

  it('refuses a cross-site request even with the right token (CSRF), and takes one from its own origin', async () => {
    const host = new URL(base).host;
    for (const extra of [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: `http://${host}`, 'sec-fetch-site': 'cross-site' },
    ]) {
      const r = await post('discard', { seqs: [1] }, TOKEN, extra);
      expect({ extra, status: r.status, code: r.body.error?.code }).toEqual({ extra, status: 403, code: 'TRIB_E_UNAUTHORIZED' });
    }
    expect((await list('pipeline=shop')).length).toBe(6);
    // The dashboard's own page posts with its origin: past the CSRF check, into the body check.
    const own = await post('discard', { seqs: [] }, TOKEN, { origin: `http://${host}`, 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(400);
  });

  it('answers the API and the dashboard with security headers, and the dashboard with a strict CSP', async () => {
    const common = {
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'permissions-policy': expect.stringContaining('camera=()'),
    };
    const api = Object.fromEntries((await fetch(`${base}/api/dlq?pipeline=shop`)).headers);
    expect(api).toMatchObject({
      ...common,
      'cache-control': 'no-store',
      'content-security-policy': expect.stringContaining("default-src 'none'"),
    });
    const denied = await fetch(`${base}/api/dlq/replay`, { method: 'POST' });
    expect(denied.status).toBe(401);
    expect(Object.fromEntries(denied.headers)).toMatchObject({ ...common, 'cache-control': 'no-store' });
    const page = await fetch(`${base}/dlq`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(Object.fromEntries(page.headers)).toMatchObject(common);
    // No inline or foreign script, no framing, nothing from other origins.
    expect(csp.split('; ')).toEqual(
      expect.arrayContaining(["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"]),
    );
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
    expect(page.headers.get('strict-transport-security')).toBeNull(); // plain HTTP here
  });

  it('masks personal fields without the admin token, in listings, one entry and searches; shows them with it', async () => {
    const read = async (url: string, token?: string) => {
      const r = await fetch(`${base}${url}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      expect(r.headers.get('vary') ?? '').toMatch(/authorization/i);
      return (await r.json()) as any;
    };
    const masked = (await read('/api/dlq?pipeline=shop&status=all')).dead_letters;
    expect(masked.map((d: any) => d.record?.email).filter(Boolean)).toEqual(['***']);
    expect(masked.find((d: any) => d.seq === 1).record).toEqual({ order_id: 'o-1', amount: 1, email: '***' });
    expect((await read('/api/dlq/1')).dead_letter.record.email).toBe('***');
    expect((await read('/api/dlq/1', 'a-wrong-token-of-some-length')).dead_letter.record.email).toBe('***');
    // A search must not reveal whether a value is there.
    expect((await read('/api/dlq?status=all&q=buyer1%40example.com')).dead_letters).toEqual([]);
    expect((await read('/api/dlq/groups?status=all&q=buyer1%40example.com')).totals).toMatchObject({ all: 0 });
    // The admin sees the record as stored, and finds it.
    expect((await read('/api/dlq/1', TOKEN)).dead_letter.record.email).toBe('buyer1@example.com');
    expect((await read('/api/dlq?status=all&q=buyer1%40example.com', TOKEN)).dead_letters.map((d: any) => d.seq)).toEqual([1]);
  });

  it('rejects a malformed selection naming the problem', async () => {
    const r = await post('replay', { seqs: [] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'TRIB_E_PARSE', message: expect.stringContaining('seqs') });
  });

  it('replays one dead letter to its replay subject with ID replay:<seq> and Trib-Replay-Of', async () => {
    const [target] = await list('pipeline=shop&stage=transform&q=amount%202%20');
    expect(target.record).toEqual({ order_id: 'o-2', amount: 2 });
    const before = (await jetstreamManager(nc).then((m) => m.streams.info(STREAMS.raw))).state.last_seq;

    const r = await post('replay', { seqs: [target.seq], wait_ms: 0 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ action: 'replay', requested: 1, done: 1, skipped: 0, failed: 0 });

    const msg = await (await jetstreamManager(nc)).streams.getMessage(STREAMS.raw, { seq: before + 1 });
    expect(msg.subject).toBe('trib.raw.shop.orders');
    expect(msg.header.get('Nats-Msg-Id')).toBe(`replay:${target.seq}`);
    expect(msg.header.get(H.replayOf)).toBe(String(target.seq));
    expect(msg.header.get(H.source)).toBe('orders');
    expect(msg.header.get(H.count)).toBe('1');
    expect(msg.header.get(H.ingestedAt)).toBe(String(Date.UTC(2026, 0, 1) + 2));
    expect(msg.json()).toEqual({ order_id: 'o-2', amount: 2 });

    const [after] = await list(`status=replayed&pipeline=shop`);
    expect(after).toMatchObject({ seq: target.seq, status: 'replayed' });
  });

  it('skips an already replayed dead letter unless forced, and JetStream drops the forced repeat', async () => {
    const [replayed] = await list('status=replayed');
    const again = await post('replay', { seqs: [replayed.seq], wait_ms: 0 });
    expect(again.body).toMatchObject({ requested: 1, done: 0, skipped: 1 });
    const forced = await post('replay', { seqs: [replayed.seq], force: true, wait_ms: 0 });
    expect(forced.body).toMatchObject({ requested: 1, done: 1, skipped: 0 });
    // Same message ID inside the duplicate window: still one replayed message in the stream.
    const info = await (await jetstreamManager(nc)).streams.info(STREAMS.raw);
    expect(info.state.messages).toBe(1);
  });

  it('reports a dead letter without a stored record as failed, not replayed', async () => {
    const [broken] = await list('pipeline=shop&code=TRIB_E_STEP');
    const r = await post('replay', { seqs: [broken.seq] });
    expect(r.body).toMatchObject({ done: 0, failed: 1, errors: [{ seq: broken.seq, message: expect.stringContaining('not stored') }] });
    expect((await list('pipeline=shop&code=TRIB_E_STEP'))[0].status).toBe('open');
  });

  it('discards everything matching a filter, and only that', async () => {
    const r = await post('discard', { filter: { pipeline: 'shop', stage: 'ingest' } });
    expect(r.body).toMatchObject({ action: 'discard', requested: 2, done: 2 });
    expect(await list('pipeline=shop&stage=ingest')).toEqual([]);
    expect((await list('pipeline=shop&stage=ingest&status=discarded')).map((d) => d.status)).toEqual(['discarded', 'discarded']);
    // The open transform dead letters were not touched.
    expect((await list('pipeline=shop&stage=transform')).length).toBe(3);
  });

  it('keeps an audit trail of every request with who asked and what happened', async () => {
    const r = await fetch(`${base}/api/dlq/actions`);
    const { actions } = (await r.json()) as { actions: any[] };
    expect(actions.map((a) => [a.action, a.done, a.skipped, a.failed])).toEqual([
      ['discard', 2, 0, 0],
      ['replay', 0, 0, 1],
      ['replay', 1, 0, 0],
      ['replay', 0, 1, 0],
      ['replay', 1, 0, 0],
    ]);
    expect(actions.every((a) => a.actor === 'test operator')).toBe(true);
    expect(actions[0].selection).toEqual({ filter: { pipeline: 'shop', stage: 'ingest' } });
  });
});

/**
 * A dead letter with several problems (real nats-server and PostgreSQL, the monitor in process):
 * the DLQ keeps every reason with its field, grouping by field counts it under each of its fields
 * (a group's sample message is that field's own reason), and the field filter selects it by any
 * of them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { compileSchema } from '@tributary/contract/schema';
import { loadPipelines } from '@tributary/contract/spec';
import { STREAMS, subjects } from '@tributary/contract/wire';
import { connectNats, DEFAULT_TOPOLOGY, publishDeadLetter, Publisher, validationError } from '@tributary/runtime/nats';
import { createLogger } from '@tributary/runtime/logger';
import { migrate } from '@tributary/cli';
import { NatsServer, PostgresServer, stopAll, waitFor } from '@tributary/testkit';
import { createApp, type MonitorApp } from '../src/app';
import { loadConfig } from '../src/config';

jest.setTimeout(60_000);

const logger = createLogger('dlq-fields-test', process.env.TEST_LOG_LEVEL ?? 'silent');
const SCHEMA = {
  type: 'object',
  required: ['order_id', 'amount'],
  properties: { order_id: { type: 'string' }, amount: { type: 'number', minimum: 0 }, qty: { type: 'integer' } },
};
let nats: NatsServer;
let pg: PostgresServer;
let dir: string;
let nc: NatsConnection;
let app: MonitorApp;
let base: string;

const get = async (p: string): Promise<any> => (await fetch(`${base}${p}`)).json();

beforeAll(async () => {
  [nats, pg] = await Promise.all([NatsServer.start(), PostgresServer.start()]);
  dir = mkdtempSync(path.join(tmpdir(), 'tributary-dlq-fields-'));
  writeFileSync(path.join(dir, 'order.json'), JSON.stringify(SCHEMA));
  writeFileSync(
    path.join(dir, 'shop.yaml'),
    [
      'pipeline: shop',
      'sources:',
      '  orders: { kind: push, schema: order.json }',
      'datasets:',
      '  clean_orders:',
      '    from: orders',
      '    fields: { order_id: string, amount: number }',
      'tables:',
      '  fact_order: { from: clean_orders, mode: append }',
      '',
    ].join('\n'),
  );
  const config = loadConfig({
    NATS_URL: nats.url,
    DATABASE_URL: pg.url('dlq_fields'),
    TRIBUTARY_PIPELINES: dir,
    HOST: '127.0.0.1',
    MONITOR_PORT: '0',
    MONITOR_REFRESH: '0ms',
    LOG_LEVEL: 'silent',
  });
  await migrate({ natsUrl: nats.url, databaseUrl: config.DATABASE_URL, pipelines: loadPipelines(dir), topology: DEFAULT_TOPOLOGY, logger });
  nc = await connectNats(nats.url, 'dlq-fields-test');
  const publisher = new Publisher(jetstream(nc));
  const schema = compileSchema(SCHEMA, 'order.json', 'json_schema');
  // Three bad fields; one bad field; one record whose problem names no field.
  const records = [{ order_id: 7, amount: -1, qty: 1.5 }, { order_id: 'o-2', amount: -5 }, []];
  await Promise.all(
    records.map((record, i) => {
      const checked = schema.check(record);
      if (!('problem' in checked)) throw new Error(`record ${i} passed`);
      return publishDeadLetter(
        publisher,
        {
          pipeline: 'shop',
          stage: 'ingest',
          name: 'orders',
          record: record as never,
          error: validationError(checked, { index: i }),
          attempts: 1,
          replaySubject: subjects.raw('shop', 'orders'),
          original: { stream: STREAMS.raw, msgId: 'orders:k', index: i },
          ingestedAt: Date.now(),
          failedAt: new Date().toISOString(),
        },
        `orders:k:dlq:${i}`,
      );
    }),
  );
  app = createApp(config, { logger });
  base = `http://127.0.0.1:${(await app.start()).port}`;
  await waitFor(async () => (await get('/api/dlq?pipeline=shop')).dead_letters.length === 3, {
    timeoutMs: 10_000,
    what: 'three dead letters folded',
  });
});

afterAll(async () => {
  await app?.stop();
  await nc?.close();
  await stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dead letters with several problems', () => {
  it('keeps every reason with its field', async () => {
    const { dead_letters } = await get('/api/dlq?pipeline=shop&field=qty');
    expect(dead_letters).toHaveLength(1);
    const d = dead_letters[0];
    expect(d.error.message).toMatch(/^3 problems: /);
    expect(d.error.details.map((x: { field: string }) => x.field).sort()).toEqual(['amount', 'order_id', 'qty']);
    expect(d.error.details.find((x: { field: string }) => x.field === 'qty').message).toBe('qty must be integer');
  });

  it('groups by field counting a dead letter under each of its fields, each group with its own reason', async () => {
    const g = await get('/api/dlq/groups?pipeline=shop&by=field');
    const byField = Object.fromEntries(
      g.groups.map((x: { key: { field: string | null }; count: number; sample_message: string }) => [
        x.key.field ?? '(none)',
        [x.count, x.sample_message],
      ]),
    );
    expect(byField).toEqual({
      amount: [2, 'amount must be >= 0'],
      order_id: [1, 'order_id must be string'],
      qty: [1, 'qty must be integer'],
      '(none)': [1, 'record must be object'],
    });
    expect(g.totals).toMatchObject({ open: 3, all: 3 });
    // Each group's filter selects exactly its dead letters.
    for (const x of g.groups as { count: number; filter: Record<string, string> }[]) {
      const q = new URLSearchParams(x.filter).toString();
      expect((await get(`/api/dlq?${q}`)).dead_letters).toHaveLength(x.count);
    }
  });
});

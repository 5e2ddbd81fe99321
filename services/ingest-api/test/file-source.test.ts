/**
 * The `file` source against a real NATS, with the ingest-api as a child process: CSV, NDJSON and
 * JSON files with broken rows (dead-lettered with file and line, the good rows go on), a SIGKILL
 * in the middle of a large file and a restart (every row exactly once), a file dropped twice
 * (processed once), a truncated file (failed/), an upload through the HTTP endpoint, and the
 * file's modification time as its records' source time.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kvm } from '@nats-io/kv';
import { BUCKETS } from '@tributary/contract/wire';
import { stopAll, waitFor } from '@tributary/testkit';
import { SourceEnv } from './source-env';

afterAll(stopAll);

const SCHEMA = {
  type: 'object',
  required: ['order_id', 'qty'],
  properties: { order_id: { type: 'integer' }, qty: { type: 'integer', minimum: 0 }, sku: { type: 'string' } },
};

const PIPELINE = `
pipeline: landing
sources:
  drop:
    kind: file
    path: ../landing
    schema: ../schemas/order.json
    mapping: { "Order ID": order_id }
    schedule: { every: 100ms }
    min_age: 0ms
    batch_records: 50
    upload: true
datasets:
  orders:
    from: drop
    fields: { order_id: integer }
`;

describe('file source', () => {
  let env: SourceEnv;
  let landing: string;

  beforeAll(async () => {
    env = await SourceEnv.start();
    landing = path.join(env.dir, 'landing');
    mkdirSync(landing, { recursive: true });
    mkdirSync(path.join(env.dir, 'schemas'));
    writeFileSync(path.join(env.dir, 'schemas/order.json'), JSON.stringify(SCHEMA));
    env.writePipeline('landing', PIPELINE);
  });
  afterAll(async () => {
    await env?.close();
  });

  const records = async () => (await env.raw('landing', 'drop')).flatMap((m) => m.records);

  it('ingests good rows, dead-letters bad ones with file and line, survives a SIGKILL mid-file, and processes each content once', async () => {
    // A large file first, so the kill lands in the middle of it.
    const big = Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ order_id: 100_000 + i, qty: i % 7, sku: `S${i % 13}` })).join(
      '\n',
    );
    writeFileSync(path.join(landing, 'a-big.ndjson'), `${big}\n`);
    writeFileSync(path.join(landing, 'b-orders.csv'), 'Order ID,qty,sku\n1,2,A\n2,x,B\n3\n4,-1,C\n5,6,D\n');
    writeFileSync(
      path.join(landing, 'c-events.json'),
      '[\n {"order_id": 10, "qty": 1},\n {"order_id": 11, "qty": },\n {"order_id": 12, "qty": 3}\n]\n',
    );

    let ingest = await env.spawnIngest({});
    await waitFor(async () => (await env.raw('landing', 'drop')).length >= 3, {
      timeoutMs: 20_000,
      what: 'the first chunks of a-big.ndjson',
    });
    ingest.proc.kill('SIGKILL');
    await ingest.proc.exited;

    // The kill happened mid-file: its state says processing, with an offset.
    const kv = await new Kvm(env.nc).open(BUCKETS.cursors);
    const keys: string[] = [];
    for await (const k of await kv.keys('cursor.landing.drop.file.>')) keys.push(k);
    const states = await Promise.all(keys.map(async (k) => (await kv.get(k))!.json<{ name: string; status: string; items: number }>()));
    const bigState = states.find((s) => s.name === 'a-big.ndjson')!;
    expect(bigState.status).toBe('processing');
    expect(bigState.items).toBeGreaterThan(0);
    expect(existsSync(path.join(landing, 'a-big.ndjson'))).toBe(true);

    ingest = await env.spawnIngest({});
    const all = await waitFor(
      async () => {
        const r = await records();
        return r.length >= 30_004 ? r : undefined;
      },
      { timeoutMs: 60_000, what: 'every good row' },
    );
    await waitFor(async () => readdirSync(path.join(landing, 'done')).length === 3, { timeoutMs: 10_000, what: 'three files in done/' });

    // Exactly once, typed, renamed.
    const ids = all.map((r) => r.order_id as number);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(30_004);
    expect(all.filter((r) => (r.order_id as number) < 100).sort((a, b) => (a.order_id as number) - (b.order_id as number))).toEqual([
      { order_id: 1, qty: 2, sku: 'A' },
      { order_id: 5, qty: 6, sku: 'D' },
      { order_id: 10, qty: 1 },
      { order_id: 12, qty: 3 },
    ]);

    // Bad rows: one dead letter each, naming file and line.
    const dlq = await env.deadLetters('landing', 'drop');
    const where = dlq.map((d) => {
      const e = d.error as { code: string; location: { file: string; line: number; field?: string } };
      return [e.location.file, e.location.line, e.code];
    });
    expect(where.sort()).toEqual(
      [
        ['b-orders.csv', 3, 'TRIB_E_VALIDATION'], // qty "x" is not an integer
        ['b-orders.csv', 4, 'TRIB_E_PARSE'], // one column
        ['b-orders.csv', 5, 'TRIB_E_VALIDATION'], // qty -1 below the minimum
        ['c-events.json', 3, 'TRIB_E_PARSE'], // broken element
      ].sort(),
    );
    expect(dlq.find((d) => (d.error as { location: { line: number } }).location.line === 4)!.record).toBe('3\n');

    // The same content again under another name: moved to done/, not read again.
    const before = (await env.raw('landing', 'drop')).length;
    writeFileSync(path.join(landing, 'd-orders-again.csv'), 'Order ID,qty,sku\n1,2,A\n2,x,B\n3\n4,-1,C\n5,6,D\n');
    await waitFor(async () => readdirSync(path.join(landing, 'done')).length === 4, {
      timeoutMs: 10_000,
      what: 'the repeat moved to done/',
    });
    expect((await env.raw('landing', 'drop')).length).toBe(before);

    // A truncated JSON file: good rows before the break go on, the file goes to failed/.
    writeFileSync(path.join(landing, 'e-cut.json'), '[{"order_id": 20, "qty": 1},\n{"order_id": 21, "qty"');
    await waitFor(async () => existsSync(path.join(landing, 'failed', 'e-cut.json')), { timeoutMs: 10_000, what: 'e-cut.json in failed/' });
    expect((await records()).filter((r) => r.order_id === 20)).toHaveLength(1);
    const fatal = (await env.deadLetters('landing', 'drop')).filter(
      (d) => (d.error as { location: { file: string } }).location.file === 'e-cut.json',
    );
    expect(fatal.map((d) => (d.error as { message: string }).message)).toEqual([
      expect.stringContaining('ends inside this element'),
      expect.stringContaining('truncated'),
    ]);

    // Upload: streamed into the folder, then ingested like any file.
    const res = await fetch(`http://127.0.0.1:${ingest.port}/v1/pipelines/landing/sources/drop/files/f-upload.csv`, {
      method: 'PUT',
      body: 'Order ID,qty\n30,1\n31,2\n',
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ file: 'f-upload.csv', bytes: 23 });
    await waitFor(async () => (await records()).filter((r) => r.order_id === 30 || r.order_id === 31).length === 2, {
      timeoutMs: 10_000,
      what: 'the uploaded rows',
    });
    const refused = await fetch(`http://127.0.0.1:${ingest.port}/v1/pipelines/landing/sources/drop/files/notes.txt`, {
      method: 'PUT',
      body: 'x',
    });
    expect(refused.status).toBe(400);
    await ingest.proc.stop();
  });

  it("gives a file's records its modification time as their source time", async () => {
    const ingest = await env.spawnIngest({});
    try {
      // Written aside, dated, then moved in: the source sees it with that modification time.
      const aside = path.join(env.dir, 'g-dated.ndjson');
      writeFileSync(aside, '{"order_id": 40, "qty": 1}\n{"order_id": 41, "qty": 2}\n');
      utimesSync(aside, new Date(), new Date(Date.UTC(2026, 11, 6, 10, 11, 12, 345)));
      renameSync(aside, path.join(landing, 'g-dated.ndjson'));
      const [msg] = await waitFor(
        async () => {
          const m = (await env.raw('landing', 'drop')).filter((x) => x.records.some((r) => r.order_id === 40));
          return m.length > 0 ? m : undefined;
        },
        { timeoutMs: 10_000, what: 'the dated file published' },
      );
      expect(msg!.sourceTime).toBe('2026-12-06T10:11:12.345000Z');
    } finally {
      await ingest.proc.stop();
    }
  });
});

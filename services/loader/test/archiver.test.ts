/**
 * The loader's archiver against a real nats-server, with a local folder and with an S3 bucket
 * (s3rver, a local S3-protocol server): batches land in files partitioned by stage, source or
 * dataset and day that hold exactly their records, and a crash after a file was written but
 * before the ack (the archiver stops dead inside a flush, its connection dies, JetStream
 * redelivers after the ack wait, next to new messages) leaves every message in the archive once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { archiveOf, decodeArchive, openArchiveStore, parseArchiveKey, type ArchiveStore } from '@tributary/archive';
import { archiverConsumers, connectNats, DEFAULT_TOPOLOGY, ensureConsumers, ensureStreams, Publisher } from '@tributary/runtime/nats';
import { createLogger } from '@tributary/runtime/logger';
import { consumers, H, makeHeaders, STREAMS, subjects } from '@tributary/contract/wire';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { freePort, NatsServer, stopAll, waitFor } from '@tributary/testkit';
import { Registry } from 'prom-client';
import { Archiver, archiveMetrics } from '../src/archiver';

jest.setTimeout(180_000);
afterAll(stopAll);

// s3rver ships no types.
const S3rver = require('s3rver') as new (opts: object) => { run(): Promise<unknown>; close(): Promise<void> };

const DAY1 = Date.UTC(2026, 4, 1, 10);
const DAY2 = Date.UTC(2026, 4, 2, 23, 59);
const ACK_WAIT_MS = 2_000;

const pipelineYaml = (archive: string) => `
pipeline: shop
connections:
  lake: { kind: s3, endpoint: 'http://127.0.0.1:${process.env.TEST_S3_PORT ?? 1}', bucket: archive, access_key_id: env:LAKE_KEY, secret_access_key: env:LAKE_SECRET }
sources:
  orders_in: { kind: push }
datasets:
  orders: { from: orders_in, fields: { id: integer } }
  refunds: { from: orders_in, fields: { id: integer } }
archive: ${archive}
`;

/** A store that writes, then never returns: the process "dies" between the write and the ack. */
class StopsDeadAfterWriting implements ArchiveStore {
  written: string[] = [];
  constructor(private readonly inner: ArchiveStore) {}
  get location(): string {
    return this.inner.location;
  }
  async put(key: string, body: Uint8Array): Promise<void> {
    await this.inner.put(key, body);
    this.written.push(key);
    return new Promise<void>(() => undefined);
  }
  get = (key: string): Promise<Uint8Array> => this.inner.get(key);
  list = (prefix: string): Promise<string[]> => this.inner.list(prefix);
  close(): void {}
}

interface Sent {
  msgId: string;
  subject: string;
  records: string[];
  ingestedAt: number;
}

describe.each(['local folder', 's3'] as const)('archiver (%s)', (backend) => {
  let nats: NatsServer;
  let dir: string;
  let pipeline: Pipeline;
  let s3: { close(): Promise<void> } | undefined;
  const conns: NatsConnection[] = [];
  const secrets = { LAKE_KEY: 'S3RVER', LAKE_SECRET: 'S3RVER' };
  const logger = createLogger('archiver-test', 'silent');

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'trib-archiver-'));
    nats = await NatsServer.start();
    let archive = `{ location: ${path.join(dir, 'archive')}, format: parquet, flush: { interval: 300ms, max_messages: 8 } }`;
    if (backend === 's3') {
      const port = await freePort();
      process.env.TEST_S3_PORT = String(port);
      const server = new S3rver({
        port,
        address: '127.0.0.1',
        directory: path.join(dir, 's3'),
        silent: true,
        configureBuckets: [{ name: 'archive' }],
      });
      await server.run();
      s3 = server;
      archive = '{ location: s3://archive/tributary, connection: lake, format: ndjson, flush: { interval: 300ms, max_messages: 8 } }';
    }
    writeFileSync(path.join(dir, 'shop.yaml'), pipelineYaml(archive));
    pipeline = loadPipelineFile(path.join(dir, 'shop.yaml'));
    const nc = await connectNats(nats.url, 'migrate');
    conns.push(nc);
    const jsm = await jetstreamManager(nc);
    const topology = { ...DEFAULT_TOPOLOGY, ackWaitMs: ACK_WAIT_MS };
    await ensureStreams(jsm, topology);
    await ensureConsumers(jsm, archiverConsumers(pipeline, archiveOf(pipeline, { ARCHIVE_ALL: false })!.stages), topology);
  });

  afterAll(async () => {
    for (const nc of conns) await nc.close().catch(() => undefined);
    await s3?.close();
    delete process.env.TEST_S3_PORT;
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (wrap: (s: ArchiveStore) => ArchiveStore = (s) => s, maxMessages = 8) => {
    const nc = await connectNats(nats.url, 'loader');
    conns.push(nc);
    const store = wrap(await openArchiveStore(pipeline, { ARCHIVE_DIR: dir }, secrets));
    const archiver = new Archiver({
      js: jetstream(nc),
      jsm: await jetstreamManager(nc),
      pipeline,
      archive: { ...pipeline.archive!, flush: { interval: 300, max_messages: maxMessages } },
      store,
      maxDeliver: 10,
      metrics: archiveMetrics(new Registry()),
      logger,
    });
    await archiver.start();
    return { nc, store, archiver };
  };

  /** Publishes `n` messages of 1..5 records each, alternating subjects and days, as the services do. */
  const sent: Sent[] = [];
  const publish = async (nc: NatsConnection, n: number): Promise<void> => {
    const publisher = new Publisher(jetstream(nc));
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const k = sent.length;
      const raw = k % 3 === 0;
      const subject = raw ? subjects.raw('shop', 'orders_in') : subjects.processed('shop', k % 2 ? 'orders' : 'refunds');
      const records = Array.from({ length: (k % 5) + 1 }, (_, j) => JSON.stringify({ id: k * 10 + j, note: `m${k}` }));
      if (k % 7 === 6) records.length = 0; // every record filtered: an empty processed message
      const m: Sent = { msgId: `shop/orders_in:k${k}${raw ? '' : ':x'}`, subject, records, ingestedAt: k % 2 ? DAY1 : DAY2 };
      sent.push(m);
      const headers = makeHeaders({
        [H.pipeline]: 'shop',
        [H.count]: records.length,
        [H.ingestedAt]: m.ingestedAt,
        [H.contentType]: 'application/x-ndjson',
      });
      batch.push(publisher.publish(subject, Buffer.from(records.join('\n')), { msgId: m.msgId, headers }));
    }
    await Promise.all(batch);
  };

  it('archives every message exactly once, partitioned, after a crash between a file write and its ack', async () => {
    const first = await start((s) => new StopsDeadAfterWriting(s));
    await publish(first.nc, 40);
    const dead = first.store as StopsDeadAfterWriting;
    await waitFor(async () => dead.written.length >= 2, { timeoutMs: 60_000, what: 'the first archiver to write files' });
    // It stops dead: nothing more is acked; its connection goes away with the process.
    await first.nc.close();
    void first.archiver.stop().catch(() => undefined);

    // Larger flushes now: the redelivered messages come back grouped differently from the
    // flush that was written, so the file names differ and the archive must notice the copies.
    const second = await start(undefined, 40);
    await publish(second.nc, 25); // new messages arrive with the redeliveries
    const jsm = await jetstreamManager(second.nc);
    await waitFor(
      async () => {
        for (const stream of [STREAMS.raw, STREAMS.processed]) {
          const info = await jsm.consumers.info(stream, consumers.archiver('shop'));
          if (info.num_pending + info.num_ack_pending > 0) return false;
        }
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'the archiver to ack every message (redeliveries included)' },
    );

    // Every file is where its messages belong, and every message is in exactly one file.
    const found = new Map<string, { key: string; records: string[]; subject: string; ingestedAt: number }[]>();
    const keys = await second.store.list('shop/');
    for (const key of keys) {
      const k = parseArchiveKey(key)!;
      expect(k).toBeDefined();
      const messages = await decodeArchive(key, await second.store.get(key));
      expect(messages.map((m) => m.seq)).toEqual([...messages.map((m) => m.seq)].sort((a, b) => a - b));
      expect([messages[0]!.seq, messages[messages.length - 1]!.seq]).toEqual([k.firstSeq, k.lastSeq]);
      for (const m of messages) {
        expect(m.subject).toBe(k.stage === 'raw' ? subjects.raw('shop', k.name) : subjects.processed('shop', k.name));
        expect(new Date(m.ingestedAt).toISOString().slice(0, 10)).toBe(k.date);
        found.set(m.msgId, [...(found.get(m.msgId) ?? []), { key, records: m.records, subject: m.subject, ingestedAt: m.ingestedAt }]);
      }
    }
    expect(keys.some((k) => k.includes('/date=2026-05-01/')) && keys.some((k) => k.includes('/date=2026-05-02/'))).toBe(true);
    expect([...found.keys()].sort()).toEqual(sent.map((m) => m.msgId).sort());
    expect(
      [...found.entries()].filter(([, copies]) => copies.length > 1).map(([id, copies]) => `${id}: ${copies.map((c) => c.key).join(', ')}`),
    ).toEqual([]);
    for (const m of sent)
      expect(found.get(m.msgId)![0]).toMatchObject({ records: m.records, subject: m.subject, ingestedAt: m.ingestedAt });
    // The files the dead archiver wrote are still the only copy of their messages.
    for (const key of dead.written) expect(keys).toContain(key);

    await second.archiver.stop();
  });
});

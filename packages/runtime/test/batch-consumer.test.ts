/**
 * The consumer loop against a real nats-server: acks only after the handler resolved, retries
 * transient failures without spending deliveries, isolates a poison message from its batch,
 * and dead-letters a message on its last delivery.
 */
import { AckPolicy, jetstream, jetstreamManager, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import { NatsServer, stopAll, waitFor } from '@tributary/testkit';
import pino from 'pino';
import { BatchConsumer } from '../src/nats/batch-consumer';
import { connectNats } from '../src/nats/connect';
import { TributaryError } from '@tributary/contract/errors';

let server: NatsServer;
let nc: NatsConnection;
let js: JetStreamClient;
const logger = pino({ level: 'silent' });
let n = 0;

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connectNats(server.url, 'test');
  js = jetstream(nc);
});
afterAll(async () => {
  await nc?.close();
  await stopAll();
});

/** A fresh stream + durable consumer with `count` messages "0".."count-1". */
async function setup(count: number, maxDeliver = 5, ackWaitMs = 30_000): Promise<{ stream: string; durable: string }> {
  n++;
  const stream = `S${n}`;
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`s${n}.>`] });
  await jsm.consumers.add(stream, {
    durable_name: 'd',
    ack_policy: AckPolicy.Explicit,
    max_deliver: maxDeliver,
    ack_wait: nanos(ackWaitMs),
    filter_subject: `s${n}.>`,
  });
  for (let i = 0; i < count; i++) await js.publish(`s${n}.x`, String(i));
  return { stream, durable: 'd' };
}

async function pendingOf(stream: string): Promise<{ pending: number; ack: number }> {
  const jsm = await jetstreamManager(nc);
  const ci = await jsm.consumers.info(stream, 'd');
  return { pending: ci.num_pending, ack: ci.num_ack_pending };
}

const text = (m: JsMsg): string => new TextDecoder().decode(m.data);

describe('BatchConsumer', () => {
  it('hands messages over in batches and acks them only after the handler resolved', async () => {
    const { stream, durable } = await setup(50);
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const loop = new BatchConsumer({
      js,
      stream,
      durable,
      maxBatch: 20,
      maxDeliver: 5,
      logger,
      handle: async (msgs) => {
        await gate;
        seen.push(...msgs.map(text));
      },
      onPoison: async () => {},
    });
    await loop.start();
    await waitFor(async () => ((await pendingOf(stream)).ack > 0 ? true : undefined), { timeoutMs: 5_000, what: 'messages delivered' });
    expect((await pendingOf(stream)).ack).toBeGreaterThan(0); // held, not acked, while the handler waits
    release();
    await waitFor(async () => (seen.length === 50 && (await pendingOf(stream)).ack === 0 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'all acked',
    });
    await loop.stop();
    expect(seen.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('bounds a batch, the queue and the pull by bytes when asked, always handing over at least one message', async () => {
    n++;
    const stream = `S${n}`;
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`s${n}.>`] });
    await jsm.consumers.add(stream, { durable_name: 'd', ack_policy: AckPolicy.Explicit, max_deliver: 5, filter_subject: `s${n}.>` });
    // 12 messages of 300 kB, then one of 900 kB: larger than a batch's bytes (the server allows 1 MiB).
    const sizes = [...Array<number>(12).fill(300_000), 900_000];
    for (const [i, size] of sizes.entries()) await js.publish(`s${n}.x`, Buffer.alloc(size, i));
    const batches: number[][] = [];
    let held = 0;
    let mostHeld = 0;
    const loop = new BatchConsumer({
      js,
      stream,
      durable: 'd',
      maxBatch: 16,
      maxBatchBytes: 700_000,
      maxDeliver: 5,
      logger,
      handle: async (msgs) => {
        batches.push(msgs.map((m) => m.data.byteLength));
        await new Promise((r) => setTimeout(r, 50));
      },
      onPoison: async () => {},
    });
    await loop.start();
    while (batches.flat().length < sizes.length) {
      held = (await pendingOf(stream)).ack;
      mostHeld = Math.max(mostHeld, held);
      await new Promise((r) => setTimeout(r, 10));
    }
    await loop.stop();
    expect(batches.flat()).toEqual(sizes);
    // Never more than 700 kB in a batch unless it is one message; the 900 kB one goes alone.
    expect(batches.every((b) => b.length === 1 || b.reduce((a, x) => a + x, 0) <= 700_000)).toBe(true);
    expect(batches.filter((b) => b.length === 2).length).toBeGreaterThan(2);
    expect(batches.at(-1)).toEqual([900_000]);
    // Delivered and unacked at once: the batch in hand (700 kB), one batch queued (700 kB), and
    // a pull of two of the server's largest messages (1 MiB each) ahead.
    expect(mostHeld).toBeLessThanOrEqual(2 + 3 + 8);
  });

  it('keeps what it holds within the byte budget through a long backlog of messages that end each pull (the transformer held 70 MiB in a CDC snapshot)', async () => {
    n++;
    const stream = `S${n}`;
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`s${n}.>`] });
    await jsm.consumers.add(stream, { durable_name: 'd', ack_policy: AckPolicy.Explicit, max_deliver: 5, filter_subject: `s${n}.>` });
    // 150 kB messages: every byte-bounded pull ends on one that no longer fits (a 409).
    const count = 150;
    for (let i = 0; i < count; i++) await js.publish(`s${n}.x`, Buffer.alloc(150_000, i));
    let handled = 0;
    let mostHeld = 0;
    const loop = new BatchConsumer({
      js,
      stream,
      durable: 'd',
      maxBatch: 16,
      maxBatchBytes: 400_000,
      maxDeliver: 5,
      logger,
      handle: async (msgs) => {
        await new Promise((r) => setTimeout(r, 20));
        handled += msgs.length;
      },
      onPoison: async () => {},
    });
    await loop.start();
    while (handled < count) {
      mostHeld = Math.max(mostHeld, (await pendingOf(stream)).ack);
      await new Promise((r) => setTimeout(r, 10));
    }
    await loop.stop();
    // The batch in hand and one queued (400 kB each) and a pull of two of the server's largest
    // messages (1 MiB each) ahead: 2 + 2 + 15 messages of 150 kB. Before, each 409 added a pull.
    expect(mostHeld).toBeLessThanOrEqual(2 + 2 + 15);
  });

  it('hands over a large message right after an idle spell, without waiting for missed heartbeats (the loader stalled 10-12 s)', async () => {
    n++;
    const stream = `S${n}`;
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`s${n}.>`] });
    await jsm.consumers.add(stream, { durable_name: 'd', ack_policy: AckPolicy.Explicit, max_deliver: 5, filter_subject: `s${n}.>` });
    const handledAt = new Map<string, number>();
    // The loader's shape: 64 messages or 4 MiB a batch. Pulls expire after 6 s, heartbeats every
    // 3 s: nats.js alone waits two missed heartbeats (6 s) before pulling again.
    const loop = new BatchConsumer({
      js,
      stream,
      durable: 'd',
      maxBatch: 64,
      maxBatchBytes: 4 * 1024 * 1024,
      maxMessageBytes: nc.info?.max_payload,
      pullExpiresMs: 6_000,
      maxDeliver: 5,
      logger,
      handle: async (msgs) => {
        await new Promise((r) => setTimeout(r, 5));
        for (const m of msgs) handledAt.set(m.headers!.get('id'), Date.now());
      },
      onPoison: async () => {},
    });
    const publish = (id: string, size: number) => {
      const h = headers();
      h.set('id', id);
      return js.publish(`s${n}.x`, new Uint8Array(size), { headers: h });
    };
    await loop.start();
    // Traffic of mixed sizes; then, twice, an idle spell longer than a pull's life and a 98 kB
    // message with 300 small ones behind it (the second spell stalled nats.js alone for a pull's life).
    for (let i = 0; i < 200; i++) await publish(`warm-${i}`, 500 + ((i * 7919) % 90_000));
    await waitFor(async () => (handledAt.size === 200 ? true : undefined), { timeoutMs: 10_000, what: 'the first traffic handled' });
    const waited: number[] = [];
    for (const round of [1, 2]) {
      await new Promise((r) => setTimeout(r, 7_000));
      const sent = Date.now();
      await Promise.all([
        publish(`large-${round}`, 98_000),
        ...Array.from({ length: 300 }, (_, i) => publish(`after-${round}-${i}`, 2_000)),
      ]);
      await waitFor(async () => (handledAt.size === 200 + 301 * round ? true : undefined), {
        timeoutMs: 20_000,
        what: `round ${round}: the large message and the 300 after it`,
      });
      waited.push(handledAt.get(`large-${round}`)! - sent);
    }
    await loop.stop();
    // Well under the two missed heartbeats (6 s) nats.js alone would wait.
    expect(waited.filter((ms) => ms >= 3_000)).toEqual([]);
  });

  it('retries a transient failure in process without redelivery, then acks', async () => {
    const { stream, durable } = await setup(3);
    let calls = 0;
    const deliveries: number[] = [];
    const loop = new BatchConsumer({
      js,
      stream,
      durable,
      maxBatch: 10,
      maxDeliver: 2,
      logger,
      backoffMs: [20],
      handle: async (msgs) => {
        calls++;
        deliveries.push(...msgs.map((m) => m.info.deliveryCount));
        if (calls <= 3) throw new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', 'down');
      },
      onPoison: async () => {
        throw new Error('must not dead-letter healthy messages');
      },
    });
    await loop.start();
    await waitFor(
      async () => ((await pendingOf(stream)).ack === 0 && (await pendingOf(stream)).pending === 0 && calls >= 4 ? true : undefined),
      { timeoutMs: 10_000, what: 'acked after retries' },
    );
    await loop.stop();
    expect(Math.max(...deliveries)).toBe(1); // the retries spent no deliveries
  });

  it('keeps the batch and the queued messages alive through retries longer than ack wait × max_deliver (found by the chaos suite)', async () => {
    // Ack wait 300 ms, 3 deliveries, a 2.5 s outage retried every second: before, the held batch
    // and the queue were redelivered until their last delivery and dead-lettered, although the
    // batch in hand was then loaded as well (counted twice).
    const { stream, durable } = await setup(6, 3, 300);
    const until = Date.now() + 2_500;
    const handled: string[] = [];
    const deliveries: number[] = [];
    const poisoned: string[] = [];
    const loop = new BatchConsumer({
      js,
      stream,
      durable,
      maxBatch: 2,
      maxDeliver: 3,
      logger,
      backoffMs: [1_000],
      handle: async (msgs) => {
        deliveries.push(...msgs.map((m) => m.info.deliveryCount));
        if (Date.now() < until) throw new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', 'down');
        handled.push(...msgs.map(text));
      },
      onPoison: async (m) => {
        poisoned.push(text(m));
      },
    });
    await loop.start();
    await waitFor(async () => ((await pendingOf(stream)).ack === 0 && handled.length + poisoned.length >= 6 ? true : undefined), {
      timeoutMs: 15_000,
      what: 'all settled',
    });
    await loop.stop();
    expect(poisoned).toEqual([]);
    expect(handled.sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(Math.max(...deliveries)).toBe(1);
  });

  it('gives an unknown error (a bug) a bounded number of attempts, then isolates the message that causes it', async () => {
    const { stream, durable } = await setup(5);
    const handled: string[] = [];
    const attemptsOn3: number[] = [];
    const isolated: { body: string; failure: string; err: unknown }[] = [];
    const loop = new BatchConsumer({
      js,
      stream,
      durable,
      maxBatch: 10,
      maxDeliver: 5,
      unknownAttempts: 3,
      backoffMs: [10],
      logger,
      handle: async (msgs) => {
        if (msgs.some((m) => text(m) === '3')) {
          if (msgs.length === 1) attemptsOn3.push(msgs[0]!.info.deliveryCount);
          void (undefined as unknown as { field: string }).field; // a TypeError, as a buggy step throws
        }
        handled.push(...msgs.map(text));
      },
      onPoison: async () => undefined,
      onIsolated: ({ msg, err, failure }) => isolated.push({ body: text(msg), failure, err }),
    });
    await loop.start();
    await waitFor(async () => ((await pendingOf(stream)).ack === 0 && handled.length + isolated.length === 5 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'all settled',
    });
    await loop.stop();
    expect(isolated.map(({ body, failure }) => ({ body, failure }))).toEqual([{ body: '3', failure: 'unknown' }]);
    expect(isolated[0]!.err).toBeInstanceOf(TypeError);
    // Three attempts alone, all on the first delivery: bounded, and no delivery spent.
    expect(attemptsOn3).toEqual([1, 1, 1]);
    expect(handled.sort()).toEqual(['0', '1', '2', '4']);
  });

  it('keeps retrying an infrastructure outage and says for how long, back to 0 once it is over', async () => {
    const { stream, durable } = await setup(1);
    let down = true;
    let calls = 0;
    const loop = new BatchConsumer({
      js,
      stream,
      durable,
      maxBatch: 10,
      maxDeliver: 2,
      unknownAttempts: 2,
      backoffMs: [20],
      logger,
      handle: async () => {
        calls++;
        // A raw connection error as node-postgres throws it: classified by its code.
        if (down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      },
      onPoison: async () => {
        throw new Error('an outage must not dead-letter');
      },
    });
    await loop.start();
    await waitFor(async () => calls > 10 && loop.outageSeconds() > 0, { timeoutMs: 10_000, what: 'an outage measured' });
    down = false;
    await waitFor(async () => ((await pendingOf(stream)).ack === 0 && loop.outageSeconds() === 0 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'acked once it is back',
    });
    await loop.stop();
  });

  it('isolates a poison message: its neighbours are handled, it alone is dead-lettered', async () => {
    const { stream, durable } = await setup(10);
    const handled: string[] = [];
    const poisoned: string[] = [];
    const loop = new BatchConsumer({
      js,
      stream,
      durable,
      maxBatch: 10,
      maxDeliver: 5,
      logger,
      handle: async (msgs) => {
        if (msgs.some((m) => text(m) === '4')) throw new TributaryError('TRIB_E_DECODE', 'bad body');
        handled.push(...msgs.map(text));
      },
      onPoison: async (m) => {
        poisoned.push(text(m));
      },
    });
    await loop.start();
    await waitFor(async () => ((await pendingOf(stream)).ack === 0 && handled.length + poisoned.length === 10 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'all settled',
    });
    await loop.stop();
    expect(poisoned).toEqual(['4']);
    expect(handled.sort()).toEqual(['0', '1', '2', '3', '5', '6', '7', '8', '9']);
  });

  it('dead-letters a message on its last delivery without handing it over again', async () => {
    const { stream, durable } = await setup(1, 2, 300);
    // First delivery: a handler that never returns (as if the process hung), so the ack wait expires.
    const stuck = new BatchConsumer({
      js,
      stream,
      durable,
      maxBatch: 1,
      maxDeliver: 2,
      logger,
      handle: () => new Promise(() => {}),
      onPoison: async () => {},
    });
    await stuck.start();
    await waitFor(async () => ((await pendingOf(stream)).ack === 1 ? true : undefined), { timeoutMs: 5_000, what: 'first delivery' });
    void stuck.stop();
    const poisoned: number[] = [];
    const handled: number[] = [];
    const loop = new BatchConsumer({
      js,
      stream,
      durable,
      maxBatch: 1,
      maxDeliver: 2,
      logger,
      handle: async (msgs) => {
        handled.push(...msgs.map((m) => m.info.deliveryCount));
      },
      onPoison: async (m) => {
        poisoned.push(m.info.deliveryCount);
      },
    });
    await loop.start();
    await waitFor(async () => (poisoned.length === 1 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'dead-lettered on the last delivery',
    });
    await loop.stop();
    expect(poisoned).toEqual([2]);
    expect(handled).toEqual([]);
  });
});

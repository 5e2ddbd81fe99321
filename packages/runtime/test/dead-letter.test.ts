/**
 * A whole stream message dead-lettered by a stage's consumer loop, against a real nats-server:
 * the DLQ message carries its text, the reason, where it came from, and replays to its subject.
 */
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsServer, stopAll } from '@tributary/testkit';
import { connectNats } from '../src/nats/connect';
import { deadLetterMessage, type DeadLetter } from '../src/nats/dead-letter';
import { H, makeHeaders } from '@tributary/contract/wire';
import { TributaryError } from '@tributary/contract/errors';
import { Publisher } from '../src/nats/publisher';

let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connectNats(server.url, 'test');
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'RAWISH', subjects: ['trib.raw.>'] });
  await jsm.streams.add({ name: 'DLQISH', subjects: ['trib.dlq.>'] });
  await jsm.consumers.add('RAWISH', { durable_name: 'd', ack_policy: AckPolicy.Explicit });
});
afterAll(async () => {
  await nc?.close();
  await stopAll();
});

describe('deadLetterMessage', () => {
  it('dead-letters the whole message under <message ID>:dlq:batch, replayable to its subject', async () => {
    const js = jetstream(nc);
    await js.publish('trib.raw.shop.orders_in', 'not json at all', {
      msgID: 'shop/orders_in:k1',
      headers: makeHeaders({ [H.ingestedAt]: 1_700_000_000_000 }),
    });
    const msg = await (await js.consumers.get('RAWISH', 'd')).next();
    const publisher = new Publisher(js);
    const error = new TributaryError('TRIB_E_DECODE', 'line 1: Unexpected token', { location: { line: 1 } });
    await deadLetterMessage(publisher, msg!, error, { pipeline: 'shop', stage: 'transform', stream: 'RAWISH' });
    // Twice (a redelivery of the poison message): the DLQ keeps one.
    await deadLetterMessage(publisher, msg!, error, { pipeline: 'shop', stage: 'transform', stream: 'RAWISH' });

    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info('DLQISH')).state.messages).toBe(1);
    const stored = await jsm.streams.getMessage('DLQISH', { last_by_subj: 'trib.dlq.shop.transform.orders_in' });
    expect(stored!.header.get('Nats-Msg-Id')).toBe('shop/orders_in:k1:dlq:batch');
    const dl = stored!.json<DeadLetter>();
    expect(dl).toMatchObject({
      pipeline: 'shop',
      stage: 'transform',
      name: 'orders_in',
      record: 'not json at all',
      error: { code: 'TRIB_E_DECODE', message: 'line 1: Unexpected token', location: { line: 1 } },
      attempts: 1,
      replaySubject: 'trib.raw.shop.orders_in',
      original: { stream: 'RAWISH', subject: 'trib.raw.shop.orders_in', seq: msg!.seq, msgId: 'shop/orders_in:k1' },
      ingestedAt: 1_700_000_000_000,
    });
  });
});

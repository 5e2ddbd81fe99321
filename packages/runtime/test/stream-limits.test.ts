/**
 * Stream caps set by `migrate` against a real nats-server: TRIBUTARY_RAW_MAX_BYTES caps TRIB_RAW
 * alone; a full stream refuses publishes (discard new) and keeps what it holds; and a cap below
 * what a stream holds is refused, because JetStream would delete its oldest messages at once,
 * consumed or not (found while running TRIB_RAW into its limit in the chaos suite).
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsServer, stopAll } from '@tributary/testkit';
import { connectNats } from '../src/nats/connect';
import { DEFAULT_TOPOLOGY, ensureStreams } from '../src/nats/topology';
import { readEnv, topologyEnv, topologyFromEnv } from '../src/env-config';
import { STREAMS } from '@tributary/contract/wire';
import { z } from 'zod';

let nc: NatsConnection;
afterAll(async () => {
  await nc?.close();
  await stopAll();
});

it('caps TRIB_RAW alone, refuses publishes when it is full, and refuses a cap below what it holds', async () => {
  const server = await NatsServer.start();
  nc = await connectNats(server.url, 'test');
  const jsm = await jetstreamManager(nc);
  const MiB = 1024 * 1024;
  const topology = topologyFromEnv(
    readEnv(z.object(topologyEnv), { TRIBUTARY_STREAM_MAX_BYTES: String(64 * MiB), TRIBUTARY_RAW_MAX_BYTES: String(MiB) }),
  );
  await ensureStreams(jsm, topology);
  expect((await jsm.streams.info(STREAMS.raw)).config.max_bytes).toBe(MiB);
  expect((await jsm.streams.info(STREAMS.processed)).config.max_bytes).toBe(64 * MiB);

  const js = jetstream(nc);
  const body = new Uint8Array(100 * 1024);
  let refused: Error | undefined;
  for (let i = 0; i < 20 && !refused; i++) await js.publish('trib.raw.p.s', body, { msgID: `m${i}` }).catch((e: Error) => (refused = e));
  expect(refused?.message).toMatch(/maximum bytes/);
  const held = (await jsm.streams.info(STREAMS.raw)).state;

  // Lowering the cap under what TRIB_RAW holds would drop its oldest messages: refused, nothing lost.
  await expect(ensureStreams(jsm, { ...DEFAULT_TOPOLOGY, rawMaxBytes: MiB / 2 })).rejects.toMatchObject({ code: 'TRIB_E_CONFIG' });
  expect((await jsm.streams.info(STREAMS.raw)).state).toMatchObject({ messages: held.messages, first_seq: 1 });

  // Raising it (the remedy) makes room again.
  await ensureStreams(jsm, { ...DEFAULT_TOPOLOGY, rawMaxBytes: 8 * MiB });
  await expect(js.publish('trib.raw.p.s', body, { msgID: 'after' })).resolves.toBeDefined();
});

/**
 * The idempotency store against a real NATS: replies round-trip, a reused key with another body
 * is refused, and KV unreachable is TRIB_E_UNAVAILABLE (503 with Retry-After, the client retries)
 * rather than an unclassified error the API answered with 500 (found by the chaos suite while
 * NATS restarted under load).
 */
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { BUCKETS } from '@tributary/contract/wire';
import { isTributaryError } from '@tributary/contract/errors';
import { DEFAULT_TOPOLOGY, ensureBuckets } from '@tributary/runtime/nats';
import { NatsServer, stopAll } from '@tributary/testkit';
import { IdempotencyStore } from '../src/idempotency-store';

afterAll(stopAll);

const result = { accepted: 2, rejected: 0, errors: [] } as never;

it('stores replies, refuses a reused key with another body, and reports KV unreachable as retryable', async () => {
  const nats = await NatsServer.start();
  const nc = await connect({ servers: nats.url });
  await ensureBuckets(nc, DEFAULT_TOPOLOGY);
  const store = new IdempotencyStore(await new Kvm(nc).open(BUCKETS.idempotency));

  await store.put('p', 's', 'key-1', 'sha-a', result);
  expect(await store.get('p', 's', 'key-1', 'sha-a')).toEqual(result);
  expect(await store.get('p', 's', 'key-2', 'sha-a')).toBeUndefined();
  await expect(store.get('p', 's', 'key-1', 'sha-b')).rejects.toMatchObject({ code: 'TRIB_E_VALIDATION' });

  await nc.close();
  for (const attempt of [store.get('p', 's', 'key-1', 'sha-a'), store.put('p', 's', 'key-3', 'sha-a', result)]) {
    const err = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTributaryError(err) && err.code === 'TRIB_E_UNAVAILABLE' && err.retryable).toBe(true);
  }
});

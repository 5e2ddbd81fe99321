/**
 * Stream replicas through the topology functions `migrate` runs: on a three-node JetStream
 * cluster an R1 topology is scaled to R3 in place (streams, KV buckets and the consumers that
 * follow them), and a single server asked for R3 is refused with a clear error before anything
 * is created.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsCluster, NatsServer, stopAll } from '@tributary/testkit';
import { TributaryError } from '@tributary/contract/errors';
import { checkReplicasPossible, ensureReplicas, topologyStreams } from '../src/nats/stream-replicas';
import { DEFAULT_TOPOLOGY, ensureBuckets, ensureConsumers, ensureStreams, monitorConsumers } from '../src/nats/topology';

jest.setTimeout(120_000);
afterAll(stopAll);

async function migrateTopology(nc: NatsConnection, replicas: number): Promise<string[]> {
  const topology = { ...DEFAULT_TOPOLOGY, replicas };
  checkReplicasPossible(nc, replicas);
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  await ensureStreams(jsm, topology);
  await ensureConsumers(jsm, monitorConsumers(), topology);
  await ensureBuckets(nc, topology);
  return ensureReplicas(jsm, replicas);
}

describe('stream replicas', () => {
  it('scale an R1 topology to R3 on a three-node cluster, KV buckets and consumers included', async () => {
    const cluster = await NatsCluster.start();
    const nc = await connect({ servers: cluster.urls });
    try {
      await migrateTopology(nc, 1);
      const actions = await migrateTopology(nc, 3);
      expect(actions).toContain('KV bucket trib_leases: 1 -> 3 replicas');

      const jsm = await jetstreamManager(nc);
      for (const s of topologyStreams()) {
        const info = await jsm.streams.info(s);
        expect({ stream: s, replicas: info.config.num_replicas, peers: 1 + (info.cluster?.replicas?.length ?? 0) }).toEqual({
          stream: s,
          replicas: 3,
          peers: 3,
        });
      }
      // Consumers follow their stream: the monitor's fold consumer now has three peers too.
      const { stream, durable } = monitorConsumers()[0]!;
      const consumer = await jsm.consumers.info(stream, durable);
      expect(1 + (consumer.cluster?.replicas?.length ?? 0)).toBe(3);
      // Running it again changes nothing.
      expect(await migrateTopology(nc, 3)).toEqual([]);
    } finally {
      await nc.close();
      await cluster.cleanup();
    }
  });

  it('refuse replicas on a single server, naming the variable, before creating anything', async () => {
    const server = await NatsServer.start();
    const nc = await connect({ servers: server.url });
    try {
      const err = await migrateTopology(nc, 3).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TributaryError);
      expect(err).toMatchObject({
        code: 'TRIB_E_CONFIG',
        message: expect.stringContaining('TRIBUTARY_STREAM_REPLICAS=3 needs a JetStream cluster'),
      });
      const jsm = await jetstreamManager(nc);
      expect(await jsm.streams.names().next()).toEqual([]);
    } finally {
      await nc.close();
      await server.cleanup();
    }
  });

  it('refuse more replicas than the cluster has servers with TRIB_E_CONFIG', async () => {
    const cluster = await NatsCluster.start();
    const nc = await connect({ servers: cluster.urls });
    try {
      const err = await migrateTopology(nc, 5).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'TRIB_E_CONFIG',
        message: expect.stringMatching(
          /^stream TRIB_RAW cannot have 5 replicas: no suitable peers for placement\. TRIBUTARY_STREAM_REPLICAS must not exceed/,
        ),
      });
    } finally {
      await nc.close();
      await cluster.cleanup();
    }
  });
});

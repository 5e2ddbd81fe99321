/**
 * The monitor's cluster view against a real three-node JetStream cluster with the R3 topology
 * `migrate` creates: healthy with every replica current and the meta leader named; degraded,
 * naming the server and the offline replicas, while a node is killed; healthy again once the
 * node is restarted and has caught up.
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_TOPOLOGY, ensureBuckets, ensureReplicas, ensureStreams, topologyStreams } from '@tributary/runtime/nats';
import { NatsCluster, stopAll, waitFor } from '@tributary/testkit';
import { ClusterProbe, type ClusterStatus } from '../src/cluster/cluster-probe';

jest.setTimeout(120_000);

let cluster: NatsCluster;
let nc: NatsConnection;
let jsm: JetStreamManager;
let probe: ClusterProbe;

beforeAll(async () => {
  cluster = await NatsCluster.start();
  nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  jsm = await jetstreamManager(nc, { timeout: 5_000 });
  const topology = { ...DEFAULT_TOPOLOGY, replicas: 3 };
  await ensureStreams(jsm, topology);
  await ensureBuckets(nc, topology);
  await ensureReplicas(jsm, 3);
  probe = new ClusterProbe({
    natsUrls: cluster.urls,
    monitorUrls: cluster.nodes.map((n) => n.monitorUrl),
    streams: topologyStreams(),
    jsm: () => jsm,
    connectedServer: () => nc.info?.server_name,
    timeoutMs: 2_000,
    refreshMs: 0,
  });
});

afterAll(async () => {
  await nc?.close();
  await stopAll();
});

describe('the cluster view', () => {
  it('reports a healthy cluster: every server answering, the meta leader, three current replicas per stream', async () => {
    const s = await waitFor(async () => ((c) => (!c.degraded ? c : undefined))(await probe.get()), {
      timeoutMs: 30_000,
      what: 'a healthy cluster view',
    });
    expect(s).toMatchObject({ clustered: true, meta_leader_known: true, reasons: [] });
    expect(cluster.names).toContain(s.meta_leader);
    expect(s.servers.map((x) => ({ name: x.name, reachable: x.reachable, cluster: x.cluster }))).toEqual(
      cluster.names.map((name) => ({ name, reachable: true, cluster: 'tributary-test' })),
    );
    expect(s.streams.map((x) => x.stream)).toEqual(topologyStreams());
    for (const x of s.streams)
      expect({ stream: x.stream, replicas: x.replicas, current: x.current }).toEqual({ stream: x.stream, replicas: 3, current: 3 });
  });

  it('reports a killed node unreachable and its replicas offline, then healthy once it is back', async () => {
    const victim = cluster.indexOf((await probe.get()).streams[0]!.peers.find((p) => !p.leader)!.name);
    await cluster.kill(victim);
    const down: ClusterStatus = await waitFor(
      async () => ((c) => (c.streams.some((x) => x.offline > 0) ? c : undefined))(await probe.get()),
      { timeoutMs: 60_000, intervalMs: 250, what: `replicas on ${cluster.names[victim]} reported offline` },
    );
    expect(down.degraded).toBe(true);
    expect(down.servers[victim]).toMatchObject({ reachable: false, name: null });
    expect(down.reasons).toContain(
      `server ${cluster.urls[victim]!.replace('nats://', '')} unreachable: connect ECONNREFUSED ${cluster.urls[victim]!.replace('nats://', '')}`,
    );
    const offline = down.streams.flatMap((x) => x.peers.filter((p) => p.state === 'offline').map((p) => p.name));
    expect(new Set(offline)).toEqual(new Set([cluster.names[victim]]));

    await cluster.restart(victim);
    const back = await waitFor(async () => ((c) => (!c.degraded ? c : undefined))(await probe.get()), {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the cluster view healthy after the restart',
    });
    expect(back.servers.every((x) => x.reachable)).toBe(true);
    expect(back.streams.every((x) => x.current === 3)).toBe(true);
  });
});

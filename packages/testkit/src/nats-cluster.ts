/**
 * A private JetStream cluster for tests of replicated streams: three (by default) `nats-server -js`
 * nodes on 127.0.0.1, each a {@link NatsServer} with its own free ports, store dir and
 * `server_name`, routed to the others. Nodes can be killed and restarted one at a time (same
 * ports, same store), as a crashed and rescheduled pod would be.
 */
import { freePort } from './free-port';
import { httpGet } from './http-status';
import { NatsServer } from './nats-server';
import { waitFor } from './wait-for';

/** Options of {@link NatsCluster.start}. */
export interface NatsClusterOptions {
  /** Number of nodes; 3 unless told (JetStream needs a majority, so at least 3 to survive a loss). */
  size?: number;
  /** Cluster name; `tributary-test` unless told. */
  name?: string;
  /** Server `max_payload` in bytes of every node. */
  maxPayload?: number;
  /** How long to wait for every node and for the meta leader; 60 s unless told. */
  startTimeoutMs?: number;
}

/** What a node's `/jsz` says about the JetStream meta group (only the fields used here). */
interface MetaView {
  server_name?: string;
  meta_cluster?: { leader?: string; cluster_size?: number };
}

const START_ATTEMPTS = 3;

/** A running JetStream cluster of {@link NatsServer} nodes. */
export class NatsCluster {
  private constructor(
    /** The nodes, in the order of `names` and `urls`. */
    readonly nodes: NatsServer[],
    /** `server_name` of each node (`n1`, `n2`, ...). */
    readonly names: string[],
    private readonly timeoutMs: number,
  ) {}

  /** Client URL of every node (killed ones too: clients are expected to skip them). */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** The client URLs joined with commas, as `NATS_URL` takes them. */
  get url(): string {
    return this.urls.join(',');
  }

  /**
   * Starts the nodes together and waits until they have elected a JetStream meta leader and
   * every node reports itself healthy (`/healthz`: current with the meta leader).
   */
  static async start(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
    const size = opts.size ?? 3;
    const names = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const timeoutMs = opts.startTimeoutMs ?? 60_000;
    // A route port taken between freePort() and the bind fails that node's start; NatsServer
    // retries client ports by itself, the route ports are retried here with a fresh set.
    for (let attempt = 1; ; attempt++) {
      const routePorts = await Promise.all(names.map(() => freePort()));
      const started = await Promise.allSettled(
        names.map((name, i) =>
          NatsServer.start({
            maxPayload: opts.maxPayload,
            startTimeoutMs: timeoutMs,
            configExtra: clusterConfig(opts.name ?? 'tributary-test', name, routePorts, i),
          }),
        ),
      );
      const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!failed) {
        const cluster = new NatsCluster(nodes, names, timeoutMs);
        try {
          await cluster.waitHealthy();
          return cluster;
        } catch (error) {
          await cluster.cleanup();
          throw error;
        }
      }
      await Promise.all(nodes.map((n) => n.cleanup()));
      if (attempt >= START_ATTEMPTS || !/address already in use/i.test(String(failed.reason))) throw failed.reason;
    }
  }

  /** Index of a node by its `server_name`; throws when unknown. */
  indexOf(name: string): number {
    const i = this.names.indexOf(name);
    if (i < 0) throw new Error(`no node named ${name} in the cluster (${this.names.join(', ')})`);
    return i;
  }

  /** Crashes node `i` (SIGKILL) and waits for its exit. */
  async kill(i: number): Promise<void> {
    await this.node(i).kill();
  }

  /**
   * Starts node `i` again (stopping it first if it runs) on its ports with its store, and waits
   * until it has caught up: `/healthz` on it answers 200 only when it is current with the meta
   * leader and with every stream it holds a replica of.
   */
  async restart(i: number): Promise<void> {
    await this.node(i).restart();
    await this.waitHealthy([i]);
  }

  /** The `server_name` of the meta leader as the first answering running node sees it; undefined without one. */
  async metaLeader(): Promise<string | undefined> {
    for (const n of this.nodes.filter((x) => x.running)) {
      const view = await jsz(n).catch(() => undefined);
      if (view) return view.meta_cluster?.leader || undefined;
    }
    return undefined;
  }

  /**
   * Waits until the given running nodes (all running ones by default) agree on a meta leader and
   * answer `/healthz` with 200.
   */
  async waitHealthy(indexes?: number[]): Promise<void> {
    const nodes = (indexes ?? this.nodes.map((_, i) => i)).map((i) => this.node(i)).filter((n) => n.running);
    await waitFor(
      async () => {
        const views = await Promise.all(nodes.map((n) => jsz(n)));
        const leaders = new Set(views.map((v) => v.meta_cluster?.leader ?? ''));
        if (leaders.size !== 1 || leaders.has('')) return undefined;
        const health = await Promise.all(nodes.map((n) => httpGet(`${n.monitorUrl}/healthz`, 2_000)));
        return health.every((h) => h.status === 200);
      },
      {
        timeoutMs: this.timeoutMs,
        intervalMs: 250,
        what: `JetStream cluster nodes ${nodes.map((n) => n.url).join(', ')} to agree on a meta leader and report healthy`,
      },
    );
  }

  /** Stops every node and removes their temp dirs. */
  async cleanup(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.cleanup()));
  }

  private node(i: number): NatsServer {
    const n = this.nodes[i];
    if (!n) throw new Error(`no node ${i} in a cluster of ${this.nodes.length}`);
    return n;
  }
}

/** The configuration text of node `i`: its name and routes to every other node. */
function clusterConfig(cluster: string, name: string, routePorts: number[], i: number): string {
  const routes = routePorts.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p}`);
  return [
    `server_name: ${name}`,
    'cluster {',
    `  name: ${cluster}`,
    `  listen: 127.0.0.1:${routePorts[i]}`,
    `  routes: [${routes.join(', ')}]`,
    '}',
  ].join('\n');
}

async function jsz(node: NatsServer): Promise<MetaView> {
  const r = await httpGet(`${node.monitorUrl}/jsz`, 2_000);
  if (r.status !== 200) throw new Error(`${node.monitorUrl}/jsz answered ${r.status}`);
  return JSON.parse(r.body) as MetaView;
}

/**
 * The state of the NATS cluster, for `/api/cluster`, the overview, `/metrics` and the
 * `TributaryNatsClusterDegraded` alert: which configured servers answer (their INFO line), the
 * JetStream meta leader (from the servers' monitoring endpoints, when `NATS_MONITOR_URLS` names
 * them) and, per stream, its leader and replicas current, lagging or offline (the `cluster` field
 * of stream info). The cluster is **degraded** when a server does not answer, a stream has no
 * leader or fewer live replicas than configured, or a replica is not current.
 *
 * Results are reused for `refreshMs` and concurrent callers share one probe in flight, like the
 * status snapshots.
 */
import type { JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import { readServerInfo, serverAddress } from './nats-server-info';
import type {
  ClusterServer,
  ClusterStatus,
  StreamPeer,
  StreamReplicaState as ReplicaState,
  StreamReplicas,
} from '@tributary/contract/monitor-api';
export type { ClusterServer, ClusterStatus, StreamPeer, ReplicaState, StreamReplicas };

/** Inputs of the probe. */
export interface ClusterProbeOptions {
  /** Client URLs of the servers (`NATS_URL`, comma-separated). */
  natsUrls: string[];
  /** Monitoring base URLs (`NATS_MONITOR_URLS`), e.g. `http://nats-0.nats:8222`; may be empty. */
  monitorUrls: string[];
  /** Streams whose replicas are reported. */
  streams: string[];
  /** The JetStream manager while NATS is connected. */
  jsm: () => JetStreamManager | undefined;
  /** `server_name` of the server the monitor is connected to (the home of every stream when it is not clustered). */
  connectedServer: () => string | undefined;
  /** Timeout of each request. */
  timeoutMs: number;
  /** How long a result is reused. */
  refreshMs: number;
}

/** A replica silent for this long is offline rather than lagging (the leader hears from followers every second or so). */
export const OFFLINE_AFTER_MS = 5_000;

/** Probes the cluster; results cached for `refreshMs`. */
export class ClusterProbe {
  private last: { at: number; status: ClusterStatus } | undefined;
  private inFlight: Promise<ClusterStatus> | undefined;

  constructor(private readonly opts: ClusterProbeOptions) {}

  /** The latest state, probing again when the cached one is older than the refresh period. */
  get(): Promise<ClusterStatus> {
    if (this.last && Date.now() - this.last.at < this.opts.refreshMs) return Promise.resolve(this.last.status);
    this.inFlight ??= this.probe().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async probe(): Promise<ClusterStatus> {
    const at = Date.now();
    const [servers, metaLeader, streams] = await Promise.all([
      Promise.all(this.opts.natsUrls.map((u) => this.server(u))),
      this.metaLeader(),
      Promise.all(this.opts.streams.map((s) => this.stream(s))),
    ]);
    const reasons = [
      ...servers.filter((s) => !s.reachable).map((s) => `server ${s.address} unreachable: ${s.error}`),
      ...(this.opts.monitorUrls.length > 0 && !metaLeader ? ['no JetStream meta leader'] : []),
      ...streams.flatMap(streamProblems),
    ];
    const status: ClusterStatus = {
      checked_at: new Date(at).toISOString(),
      clustered: servers.some((s) => s.cluster !== null),
      degraded: reasons.length > 0,
      reasons,
      meta_leader: metaLeader ?? null,
      meta_leader_known: this.opts.monitorUrls.length > 0,
      servers,
      streams,
    };
    this.last = { at, status };
    return status;
  }

  private async server(url: string): Promise<ClusterServer> {
    const { host, port } = serverAddress(url);
    const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    try {
      const info = await readServerInfo(url, this.opts.timeoutMs);
      return { address, reachable: true, name: info.server_name, version: info.version, cluster: info.cluster ?? null };
    } catch (err) {
      return { address, reachable: false, name: null, version: null, cluster: null, error: (err as Error).message };
    }
  }

  /** The meta leader as the first answering monitoring endpoint reports it. */
  private async metaLeader(): Promise<string | undefined> {
    for (const base of this.opts.monitorUrls) {
      try {
        const r = await fetch(new URL('/jsz', base), { signal: AbortSignal.timeout(this.opts.timeoutMs) });
        if (!r.ok) continue;
        const jsz = (await r.json()) as { meta_cluster?: { leader?: string } };
        // A single server has no meta group: it leads itself.
        return jsz.meta_cluster ? jsz.meta_cluster.leader || undefined : ((await serverName(base, this.opts.timeoutMs)) ?? undefined);
      } catch {
        // This endpoint is down (its server may be the one that died): ask the next.
      }
    }
    return undefined;
  }

  private async stream(name: string): Promise<StreamReplicas> {
    const empty = { stream: name, replicas: 0, leader: null, current: 0, lagging: 0, offline: 0, peers: [] };
    const jsm = this.opts.jsm();
    if (!jsm) return { ...empty, error: 'NATS is not connected' };
    try {
      return replicasOf(await jsm.streams.info(name), this.opts.connectedServer());
    } catch (err) {
      return { ...empty, error: (err as Error).message };
    }
  }
}

/**
 * The replicas of a stream from its info. A server that is not clustered reports no cluster
 * info: its streams have one copy, on `standalone` (the server that answered).
 */
export function replicasOf(info: StreamInfo, standalone?: string): StreamReplicas {
  const c = info.cluster;
  const leader = c ? c.leader : standalone;
  const peers: StreamPeer[] = [];
  if (leader) peers.push({ name: leader, leader: true, state: 'current', lag: 0, last_seen_seconds: null });
  for (const r of c?.replicas ?? []) {
    const silentMs = (r.active ?? 0) / 1e6;
    const state: ReplicaState = r.current ? 'current' : r.offline || silentMs >= OFFLINE_AFTER_MS ? 'offline' : 'lagging';
    peers.push({ name: r.name, leader: false, state, lag: r.lag ?? 0, last_seen_seconds: Math.round(silentMs / 100) / 10 });
  }
  const count = (s: ReplicaState): number => peers.filter((p) => p.state === s).length;
  return {
    stream: info.config.name,
    replicas: info.config.num_replicas,
    leader: leader ?? null,
    current: count('current'),
    lagging: count('lagging'),
    offline: count('offline'),
    peers,
  };
}

/** Why a stream makes the cluster degraded; empty when it is healthy. */
export function streamProblems(s: StreamReplicas): string[] {
  if (s.error) return [`stream ${s.stream}: ${s.error}`];
  const out: string[] = [];
  if (s.replicas > 1 && !s.leader) out.push(`stream ${s.stream} has no leader`);
  for (const p of s.peers.filter((x) => x.state !== 'current')) {
    out.push(
      p.state === 'offline'
        ? `stream ${s.stream}: replica ${p.name} offline (silent ${p.last_seen_seconds} s)`
        : `stream ${s.stream}: replica ${p.name} lagging ${p.lag} behind`,
    );
  }
  // A peer the leader no longer lists at all is as gone as an offline one.
  if (s.replicas > 1 && s.leader && s.peers.length < s.replicas)
    out.push(`stream ${s.stream}: ${s.peers.length} of ${s.replicas} replicas known`);
  return out;
}

async function serverName(base: string, timeoutMs: number): Promise<string | undefined> {
  const r = await fetch(new URL('/varz', base), { signal: AbortSignal.timeout(timeoutMs) });
  return r.ok ? ((await r.json()) as { server_name?: string }).server_name : undefined;
}

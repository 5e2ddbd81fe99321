/**
 * Replicas of every service, from their NATS heartbeats (`trib.heartbeat.<service>`): live while
 * beats arrive, `missing` when they stop without a goodbye (crash, network split), `stopped` after
 * a goodbye beat (drained on purpose). Kept in memory: a restarted monitor knows every live
 * replica again within one heartbeat interval.
 */
import { DEFAULT_HEARTBEAT_INTERVAL_MS, HEARTBEAT_SUBJECT_PREFIX, type HeartbeatBeat } from '@tributary/runtime/nats';
import { type Logger } from '@tributary/runtime/logger';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { ReplicaView, ServiceReplicaState as ReplicaState, ServiceView } from '@tributary/contract/monitor-api';
export type { ReplicaView, ServiceReplicaState as ReplicaState, ServiceView } from '@tributary/contract/monitor-api';

/** Options of the registry. */
export interface ReplicaRegistryOptions {
  /** A replica silent for longer than this is missing. */
  timeoutMs: number;
  /** Missing and stopped replicas are dropped after this long. */
  forgetMs: number;
  /** Services always listed, even before their first beat. */
  expected: readonly string[];
  logger: Logger;
}

/** Tracks replicas from heartbeats. */
export class ReplicaRegistry {
  private readonly beats = new Map<string, { beat: HeartbeatBeat; receivedAt: number }>();
  private sub: Subscription | undefined;
  private listeningSince: number | undefined;

  constructor(private readonly opts: ReplicaRegistryOptions) {}

  /**
   * Whether the registry has listened long enough to have heard every live replica: until then a
   * service without replicas may just not have beaten yet (alerts on it would be false).
   */
  warm(now = Date.now()): boolean {
    // Every replica beats at least once per default interval: after one, all live ones are known.
    const wait = Math.max(this.opts.timeoutMs, DEFAULT_HEARTBEAT_INTERVAL_MS + 1_000);
    return this.listeningSince !== undefined && now - this.listeningSince >= wait;
  }

  /** Subscribes to every service's heartbeats. */
  start(nc: NatsConnection, now = Date.now()): void {
    this.listeningSince = now;
    this.sub = nc.subscribe(`${HEARTBEAT_SUBJECT_PREFIX}.>`, {
      callback: (err, msg) => {
        if (err) return;
        try {
          this.record(msg.json<HeartbeatBeat>());
        } catch (e) {
          this.opts.logger.debug({ err: e, subject: msg.subject }, 'ignoring a malformed heartbeat');
        }
      },
    });
  }

  /** Records one beat (exposed for tests). */
  record(beat: HeartbeatBeat, receivedAt = Date.now()): void {
    if (typeof beat?.service !== 'string' || typeof beat.instance !== 'string') return;
    this.beats.set(beat.instance, { beat, receivedAt });
  }

  /** Stops listening. */
  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  /** Every known service with its replicas, services sorted by name, replicas by start time. */
  services(now = Date.now()): ServiceView[] {
    const byService = new Map<string, ReplicaView[]>(this.opts.expected.map((s) => [s, []]));
    for (const [instance, { beat, receivedAt }] of this.beats) {
      const age = now - receivedAt;
      if (age > this.opts.forgetMs) {
        this.beats.delete(instance);
        continue;
      }
      // Late beyond the timeout, or beyond three of its own intervals when those are longer.
      const late = age > Math.max(this.opts.timeoutMs, 3 * (beat.intervalMs || 0));
      const state: ReplicaState = beat.stopping ? 'stopped' : late ? 'missing' : beat.notReady ? 'not_ready' : 'live';
      const view: ReplicaView = {
        service: beat.service,
        instance,
        host: beat.host,
        pid: beat.pid,
        state,
        started_at: new Date(beat.startedAt).toISOString(),
        last_seen: new Date(receivedAt).toISOString(),
        age_seconds: Math.round(age / 100) / 10,
        rss_bytes: beat.rssBytes,
        ...(beat.notReady && !beat.stopping ? { not_ready: beat.notReady } : {}),
      };
      const list = byService.get(beat.service) ?? [];
      list.push(view);
      byService.set(beat.service, list);
    }
    return [...byService.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([service, replicas]) => ({
        service,
        live: replicas.filter((r) => r.state === 'live' || r.state === 'not_ready').length,
        replicas: replicas.sort((a, b) => a.started_at.localeCompare(b.started_at)),
      }));
  }
}

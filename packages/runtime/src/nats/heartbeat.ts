/**
 * Replica heartbeats: every service replica publishes a small JSON beat on the core NATS subject
 * `trib.heartbeat.<service>` every few seconds, and a last one marked `stopping` when it drains.
 * The monitor listens to them to show each replica's health and to alert on a missing one.
 *
 * Core NATS, not JetStream: a beat is worth nothing once the next one is due, so nothing stores
 * them, and no stream covers `trib.heartbeat.>` (streams cover raw, processed, loaded, dlq, events).
 */
import { hostname } from 'node:os';
import { nuid, type NatsConnection } from '@nats-io/transport-node';
import { PeriodicTask } from '../periodic-task';

/** Subject prefix of heartbeats; a beat of service `s` goes to `trib.heartbeat.<s>`. */
export const HEARTBEAT_SUBJECT_PREFIX = 'trib.heartbeat';

/** Default time between two beats. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;

/** The body of one heartbeat. */
export interface HeartbeatBeat {
  service: string;
  /** Unique per replica and run: `<host>/<pid>/<random>`. */
  instance: string;
  host: string;
  pid: number;
  /** Epoch ms when the replica started beating. */
  startedAt: number;
  /** Epoch ms when this beat was sent. */
  sentAt: number;
  /** When the next beat is due at the latest (the monitor's timeout is a few of these). */
  intervalMs: number;
  /** Resident memory in bytes. */
  rssBytes: number;
  /** True on the last beat, sent while draining: the replica left on purpose. */
  stopping: boolean;
  /** Why the replica is not ready, when a readiness check was given and failed. */
  notReady?: string;
}

/** Options of {@link startHeartbeat}. */
export interface HeartbeatOptions {
  /** Service name: `ingest-api`, `transformer`, `loader`, `monitor`. */
  service: string;
  intervalMs?: number;
  /** The service's readiness check (as for `/readyz`); its answer rides on each beat. */
  ready?: () => string | undefined | Promise<string | undefined>;
}

/** A running heartbeat. */
export interface Heartbeat {
  /** The body fields that identify this replica. */
  readonly instance: string;
  /** Sends the `stopping` beat and stops; call before draining the connection. */
  stop(): Promise<void>;
}

/** The subject of a service's heartbeats. */
export function heartbeatSubject(service: string): string {
  return `${HEARTBEAT_SUBJECT_PREFIX}.${service}`;
}

/** Starts beating at once and then every `intervalMs`. Never throws: a lost beat is only late. */
export function startHeartbeat(nc: NatsConnection, opts: HeartbeatOptions): Heartbeat {
  const intervalMs = opts.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const host = hostname();
  const instance = `${host}/${process.pid}/${nuid.next().slice(-6)}`;
  const startedAt = Date.now();
  const subject = heartbeatSubject(opts.service);

  const beat = async (stopping: boolean): Promise<void> => {
    let notReady: string | undefined;
    try {
      notReady = stopping ? 'stopping' : await opts.ready?.();
    } catch (err) {
      notReady = (err as Error).message;
    }
    const body: HeartbeatBeat = {
      service: opts.service,
      instance,
      host,
      pid: process.pid,
      startedAt,
      sentAt: Date.now(),
      intervalMs,
      rssBytes: process.memoryUsage.rss(),
      stopping,
      ...(notReady ? { notReady } : {}),
    };
    try {
      if (!nc.isClosed()) nc.publish(subject, JSON.stringify(body));
    } catch {
      // Disconnected: the client buffers or refuses; the next beat tries again.
    }
  };

  const task = new PeriodicTask({
    intervalMs,
    runAtStart: true,
    // A heartbeat alone must not keep a process alive.
    unref: true,
    run: () => beat(false),
    onError: () => undefined, // beat() never throws
  });
  task.start();
  return {
    instance,
    async stop() {
      await task.stop();
      await beat(true);
      // Best effort: make sure the goodbye leaves before the caller drains or closes.
      await nc.flush().catch(() => undefined);
    },
  };
}

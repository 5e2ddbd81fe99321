/**
 * Stream replicas (`TRIBUTARY_STREAM_REPLICAS`) for `migrate`: R3 on a three-node JetStream
 * cluster so a node can die without losing or stopping anything. Streams take their replica count
 * from `ensureStreams`; KV buckets are streams too (`KV_<bucket>`), but creating an existing
 * bucket keeps its old count, so they are scaled here. JetStream scales a stream up or down in
 * place (the consumers follow); what it refuses (replicas on a single server, more replicas than
 * servers) becomes a TRIB_E_CONFIG error that says what to change. Afterwards migrate waits until
 * every stream has a leader again, so services started right after find them writable.
 */
import { JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { TributaryError } from '@tributary/contract/errors';
import { BUCKETS, STREAMS } from '@tributary/contract/wire';

/** JetStream API error codes about replicas (nats-server `errors.json`). */
const NOT_CLUSTERED = 10074; // replicas > 1 not supported in non-clustered mode
const INSUFFICIENT_RESOURCES = 10023; // no room for the replicas
const NO_SUITABLE_PEERS = 10005; // more replicas than servers
const INSUFFICIENT_STORAGE = 10047; // the server's max_file_store cannot hold the stream's cap

/** Every stream migrate creates: the five streams and the stream of each KV bucket. */
export function topologyStreams(): string[] {
  return [...Object.values(STREAMS), ...Object.values(BUCKETS).map((b) => `KV_${b}`)];
}

/**
 * Fails fast, before anything is created, when replicas are asked of a server that is not part
 * of a cluster (its INFO names no cluster).
 */
export function checkReplicasPossible(nc: NatsConnection, replicas: number): void {
  if (replicas > 1 && !nc.info?.cluster) {
    throw new TributaryError(
      'TRIB_E_CONFIG',
      `TRIBUTARY_STREAM_REPLICAS=${replicas} needs a JetStream cluster, but the NATS server ${nc.getServer()} is not clustered: ` +
        'set TRIBUTARY_STREAM_REPLICAS=1 or point NATS_URL at a cluster',
    );
  }
}

/** Rethrows a failed stream create or update as TRIB_E_CONFIG when replicas are the reason. */
export function replicaError(err: unknown, stream: string, replicas: number): unknown {
  if (!(err instanceof JetStreamApiError)) return err;
  if (err.code === INSUFFICIENT_STORAGE) {
    return new TributaryError(
      'TRIB_E_CONFIG',
      `stream ${stream}: ${err.message}: the NATS server cannot reserve the stream's cap. Set TRIBUTARY_JETSTREAM_MAX_BYTES to the storage NATS has ` +
        '(and NATS_MONITOR_URLS so that migrate checks it before creating anything), or give NATS more storage',
      { cause: err },
    );
  }
  if ([NOT_CLUSTERED, INSUFFICIENT_RESOURCES, NO_SUITABLE_PEERS].includes(err.code)) {
    return new TributaryError(
      'TRIB_E_CONFIG',
      `stream ${stream} cannot have ${replicas} replica${replicas === 1 ? '' : 's'}: ${err.message}. ` +
        'TRIBUTARY_STREAM_REPLICAS must not exceed the JetStream servers in the cluster (1 on a single server)',
      { cause: err },
    );
  }
  return err;
}

/**
 * Sets `num_replicas` of every KV bucket stream that has another count, then waits (up to
 * `timeoutMs`) until every topology stream has a leader. Returns a line per change.
 */
export async function ensureReplicas(jsm: JetStreamManager, replicas: number, timeoutMs = 30_000): Promise<string[]> {
  const actions: string[] = [];
  for (const bucket of Object.values(BUCKETS)) {
    const name = `KV_${bucket}`;
    const info = await jsm.streams.info(name).catch(() => undefined);
    if (!info || info.config.num_replicas === replicas) continue;
    try {
      await jsm.streams.update(name, { num_replicas: replicas });
    } catch (err) {
      throw replicaError(err, name, replicas);
    }
    actions.push(`KV bucket ${bucket}: ${info.config.num_replicas} -> ${replicas} replicas`);
  }
  if (replicas > 1) {
    const existing = await Promise.all(
      topologyStreams().map((s) =>
        jsm.streams.info(s).then(
          () => s,
          () => undefined,
        ),
      ),
    );
    await waitForLeaders(
      jsm,
      existing.filter((s): s is string => s !== undefined),
      timeoutMs,
    );
  }
  return actions;
}

/** Waits until each stream reports a cluster leader; TRIB_E_UNAVAILABLE naming the ones without. */
async function waitForLeaders(jsm: JetStreamManager, streams: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waiting = streams;
  while (waiting.length > 0) {
    const leaders = await Promise.all(
      waiting.map((s) =>
        jsm.streams.info(s).then(
          (i) => Boolean(i.cluster?.leader),
          () => false,
        ),
      ),
    );
    waiting = waiting.filter((_, i) => !leaders[i]);
    if (waiting.length === 0) return;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new TributaryError('TRIB_E_UNAVAILABLE', `no JetStream leader after ${timeoutMs} ms for stream(s): ${waiting.join(', ')}`);
}

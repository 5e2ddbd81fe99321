/**
 * JetStream storage that `migrate` reserves: every stream has a `max_bytes` cap, and a server
 * reserves the sum of its streams' caps out of its `max_file_store` when they are created. The
 * caps follow the NATS they are given: `TRIBUTARY_JETSTREAM_MAX_BYTES` (the chart sets it from the
 * size of its NATS volume) is shared out between the five streams, leaving a fifth for the KV
 * buckets, which have no cap. Before anything is created, `checkStorage` compares what the caps
 * need with what the account and the server can still reserve, and fails with TRIB_E_CONFIG
 * naming both numbers and the variables to change.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { STREAMS } from '@tributary/contract/wire';
import { TributaryError } from '@tributary/contract/errors';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 1024,
  kib: 1024,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};

/** Parses a size as Kubernetes and NATS write it (`5Gi`, `512MiB`, `2GB`, `1048576`) to bytes; undefined when it is not one. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  return Math.floor(Number(m[1]) * unit);
}

/** What the caps depend on (the fields of TopologyOptions; its own type, so topology.ts can import this file). */
export interface StreamCapOptions {
  maxBytes: number;
  rawMaxBytes?: number;
  storageBudget?: number;
  replicas: number;
}

/** Share of the budget each stream may reserve; the remaining fifth is left for the KV buckets. */
export const STREAM_SHARES: Readonly<Record<string, number>> = {
  [STREAMS.raw]: 0.25,
  [STREAMS.processed]: 0.25,
  [STREAMS.dlq]: 0.15,
  [STREAMS.loaded]: 0.075,
  [STREAMS.events]: 0.075,
};

/** The cap of each of the five streams, in bytes. */
export function streamCaps(opts: StreamCapOptions): Record<string, number> {
  if (opts.storageBudget !== undefined) {
    return Object.fromEntries(Object.entries(STREAM_SHARES).map(([s, share]) => [s, Math.floor(opts.storageBudget! * share)]));
  }
  return {
    [STREAMS.raw]: opts.rawMaxBytes ?? opts.maxBytes,
    [STREAMS.processed]: opts.maxBytes,
    [STREAMS.loaded]: Math.min(opts.maxBytes, 1024 ** 3),
    [STREAMS.dlq]: opts.maxBytes,
    [STREAMS.events]: Math.min(opts.maxBytes, 1024 ** 3),
  };
}

/** One NATS server's JetStream file storage, from its monitoring endpoint's `/jsz`. */
export interface ServerStorage {
  /** Where it was read. */
  url: string;
  /** `max_file_store` of the server. */
  maxStorage: number;
  /** What its streams reserve now (ours included). */
  reservedStorage: number;
}

/** Reads `/jsz` of each monitoring URL (`http://nats:8222`); TRIB_E_UNAVAILABLE naming one that does not answer. */
export async function readServerStorage(monitorUrls: string[]): Promise<ServerStorage[]> {
  return Promise.all(
    monitorUrls.map(async (url) => {
      const res = await fetch(new URL('/jsz', url), { signal: AbortSignal.timeout(5_000) }).catch((err: unknown) => {
        throw new TributaryError('TRIB_E_UNAVAILABLE', `NATS monitoring endpoint ${url} does not answer: ${(err as Error).message}`, {
          cause: err,
        });
      });
      if (!res.ok) throw new TributaryError('TRIB_E_UNAVAILABLE', `NATS monitoring endpoint ${url}/jsz answered ${res.status}`);
      const jsz = (await res.json()) as { config?: { max_storage?: number }; reserved_storage?: number };
      return { url, maxStorage: jsz.config?.max_storage ?? -1, reservedStorage: jsz.reserved_storage ?? 0 };
    }),
  );
}

/**
 * Fails with TRIB_E_CONFIG, before any stream is created or changed, when the caps of the five
 * streams need more file storage than a server (its `max_file_store`, from `servers`) or the
 * JetStream account (its `max_storage`) can reserve.
 */
export async function checkStorage(jsm: JetStreamManager, opts: StreamCapOptions, servers: ServerStorage[] = []): Promise<void> {
  const caps = streamCaps(opts);
  let need = 0;
  let ours = 0;
  for (const [name, cap] of Object.entries(caps)) {
    need += cap * opts.replicas;
    const info = await jsm.streams.info(name).catch(() => undefined);
    if (info && info.config.max_bytes > 0) ours += info.config.max_bytes * info.config.num_replicas;
  }
  const limits: { what: string; max: number; others: number; need: number }[] = [];
  const account = await jsm.getAccountInfo();
  if (account.limits.max_storage > 0) limits.push({ what: 'the JetStream account', max: account.limits.max_storage, others: 0, need });
  // A server holds at most one replica of each stream: one cap of each, whatever the replica count.
  const share = 1 / Math.max(1, opts.replicas);
  for (const s of servers) {
    if (s.maxStorage <= 0) continue;
    // What other streams on that server reserve (the KV buckets have no cap and reserve nothing).
    const others = Math.max(0, s.reservedStorage - Math.ceil(ours * share));
    limits.push({ what: `the NATS server at ${s.url} (max_file_store)`, max: s.maxStorage, others, need: Math.ceil(need * share) });
  }
  for (const l of limits) {
    const available = l.max - l.others;
    if (l.need > available) {
      throw new TributaryError(
        'TRIB_E_CONFIG',
        `the streams need ${formatBytes(l.need)} of JetStream file storage (${describeCaps(caps, opts.replicas)}), ` +
          `but ${l.what} can reserve ${formatBytes(available)} (limit ${formatBytes(l.max)}, ${formatBytes(l.others)} reserved by other streams): ` +
          'set TRIBUTARY_JETSTREAM_MAX_BYTES to the storage NATS has (the chart sets it from nats.dev.storage or jetstream.storage), ' +
          'or lower TRIBUTARY_STREAM_MAX_BYTES / TRIBUTARY_RAW_MAX_BYTES, or give NATS more storage. Nothing was created.',
        { details: { need: l.need, available, limit: l.max, caps } },
      );
    }
  }
}

function describeCaps(caps: Record<string, number>, replicas: number): string {
  const each = Object.entries(caps)
    .map(([s, b]) => `${s} ${formatBytes(b)}`)
    .join(', ');
  return replicas > 1 ? `${each}, times ${replicas} replicas` : each;
}

/** Bytes as MiB or GiB with one decimal. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

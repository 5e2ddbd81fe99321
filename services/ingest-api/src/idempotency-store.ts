/**
 * Replies to requests sent with an `Idempotency-Key`, kept in JetStream KV (bucket
 * `trib_idempotency`, TTL set by `migrate`) so a repeat gets the first reply back from any replica.
 * KV unreachable (NATS restarting, a timeout) is TRIB_E_UNAVAILABLE, so the client is told 503
 * with Retry-After and retries with its key: after a failed `put` the retry republishes the same
 * message IDs, which JetStream drops.
 */
import { createHash } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { TributaryError } from '@tributary/contract/errors';
import type { IngestResult } from './record-ingestor';

/** Turns a KV failure into TRIB_E_UNAVAILABLE (retryable: 503 with Retry-After). */
const unavailable =
  (what: 'read' | 'write') =>
  (err: unknown): never => {
    throw new TributaryError('TRIB_E_UNAVAILABLE', `cannot ${what} the idempotency store (JetStream KV): ${(err as Error).message}`, {
      cause: err,
    });
  };

/** The stored reply of a keyed request. */
interface Entry {
  bodySha256: string;
  result: IngestResult;
}

/** Reads and writes idempotent replies. */
export class IdempotencyStore {
  constructor(private readonly kv: KV) {}

  private key(pipeline: string, source: string, idemKey: string): string {
    return `${pipeline}.${source}.${createHash('sha256').update(idemKey).digest('hex')}`;
  }

  /**
   * Returns the first reply for this key, or undefined when there is none. A repeat with a
   * different body is refused: reusing a key for other data is a client bug we must not hide.
   */
  async get(pipeline: string, source: string, idemKey: string, bodySha256: string): Promise<IngestResult | undefined> {
    const e = await this.kv.get(this.key(pipeline, source, idemKey)).catch(unavailable('read'));
    if (!e || e.operation !== 'PUT') return undefined;
    const entry = e.json<Entry>();
    if (entry.bodySha256 !== bodySha256) {
      throw new TributaryError('TRIB_E_VALIDATION', 'Idempotency-Key was already used with a different body', {
        details: { idempotencyKey: idemKey },
      });
    }
    return entry.result;
  }

  /** Remembers the reply; only called after JetStream acknowledged the batch. */
  async put(pipeline: string, source: string, idemKey: string, bodySha256: string, result: IngestResult): Promise<void> {
    const entry: Entry = { bodySha256, result };
    await this.kv.put(this.key(pipeline, source, idemKey), JSON.stringify(entry)).catch(unavailable('write'));
  }
}

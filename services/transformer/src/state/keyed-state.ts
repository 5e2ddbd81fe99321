/**
 * One JetStream KV entry per key, changed only by compare-and-set, with a marker per input
 * message: the machinery behind `join`, `sliding` and `session`.
 *
 * Why it is exact:
 * - **Two replicas.** Every change is read-modify-write on the entry's revision (`create` when
 *   absent, `update`/`delete` on the revision read). When two replicas change one key at once,
 *   one write fails and that replica reads the winner's entry and computes again, so each key has
 *   one serial history whichever replica wrote it. Keys are independent.
 * - **Redelivery.** All records of one key in one input message are applied in one write, which
 *   also stores a marker `{ input message ID, outputs }`. A redelivered message finds its marker
 *   and gets the stored outputs back without applying anything again, so it republishes the same
 *   records under the same message IDs (dropped downstream) and state never counts a record twice.
 *   A crash between the write and the PubAck is the same case: the redelivery publishes the
 *   outputs the write recorded.
 * - Markers are kept `MARKER_TTL_MS` (processing time) and at most `MAX_MARKERS` per key.
 *   JetStream redelivers an unacked message after `ack_wait` (30 s by default), so a marker is
 *   needed for minutes; the hour covers a stalled replica. A batch redelivered after its marker is
 *   gone is applied as new (each step also recognises its own records by ID where it can).
 *
 * Hand-written because no library offers compare-and-set state on NATS KV.
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import { TributaryError } from '@tributary/contract/errors';

/** How long an input message's marker is kept (processing time). */
export const MARKER_TTL_MS = 3_600_000;
/** Markers kept per key at most (the oldest go first). */
export const MAX_MARKERS = 1_000;
/** Largest entry written: under the server's default 1 MiB max_payload, with room for headers. */
export const MAX_ENTRY_BYTES = 900 * 1024;
const CAS_ATTEMPTS = 100;

/** What one input message did to one key: its outputs, replayed on a redelivery. */
export interface Marker<O> {
  /** Input message ID. */
  i: string;
  /** When it was applied (ms). */
  at: number;
  o: O[];
}

/** The stored entry: the step's state and the markers. */
interface Envelope<S, O> {
  s: S | null;
  m: Marker<O>[];
  /** Last write (ms): idle entries are collected by `sweep`. */
  w: number;
}

/** A change computed from the current state: the new state (null: nothing left) and the outputs. */
export interface Change<S, O> {
  state: S | null;
  out: O[];
}

/** Whether a KV write failed because another writer changed the key first. */
function isConflict(err: unknown): boolean {
  if (err instanceof JetStreamApiError) {
    const code = err.code as number;
    if (code === JetStreamApiCodes.StreamWrongLastSequence || code === JetStreamApiCodes.StreamWrongLastSequenceUnknown) return true;
  }
  return /wrong last sequence/i.test(String((err as Error)?.message ?? err));
}

const pause = (attempt: number): Promise<void> =>
  attempt === 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, Math.min(50, attempt * 2) * Math.random()));

/** Keyed state of one step in one KV bucket. */
export class KeyedState<S, O> {
  constructor(
    private readonly kv: KV,
    /** Where in the spec the step is, for error messages. */
    private readonly where: string,
    /** Shrinks a state that would not fit in one entry (drop what matters least), or returns it unchanged. */
    private readonly shrink: (s: S) => S = (s) => s,
  ) {}

  /**
   * Applies the records of input message `inputId` to `key`: `change` gets the current state and
   * returns the new one and the outputs. On a redelivery it is not called: the stored outputs come back.
   */
  async apply(key: string, inputId: string, now: number, change: (s: S | null) => Change<S, O>): Promise<{ out: O[]; replay: boolean }> {
    let result: { out: O[]; replay: boolean } | undefined;
    await this.cas(
      key,
      (env) => {
        const seen = env.m.find((m) => m.i === inputId);
        if (seen) {
          result = { out: seen.o, replay: true };
          return undefined;
        }
        const c = change(env.s);
        result = { out: c.out, replay: false };
        return { s: c.state, m: [...env.m, { i: inputId, at: now, o: c.out }], w: now };
      },
      now,
    );
    return result!;
  }

  /**
   * Changes `key` outside any input message (releases, garbage collection): `change` returns the
   * new state, or undefined to leave the entry as it is. Returns whether a write happened.
   */
  async update(key: string, now: number, change: (s: S | null, lastWrite: number) => { state: S | null } | undefined): Promise<boolean> {
    let wrote = false;
    await this.cas(
      key,
      (env) => {
        const c = change(env.s, env.w);
        wrote = c !== undefined;
        return c === undefined ? undefined : { s: c.state, m: env.m, w: now };
      },
      now,
    );
    return wrote;
  }

  /** Reads a key's state (null when absent). */
  async read(key: string): Promise<S | null> {
    const e = await this.get(key);
    return e && e.operation === 'PUT' ? (e.json<Envelope<S, O>>().s ?? null) : null;
  }

  /** Every key under `prefix` (e.g. `join.<pipeline>.<dataset>.<step>.`). */
  async keys(prefix: string): Promise<string[]> {
    try {
      const out: string[] = [];
      for await (const k of await this.kv.keys(`${prefix}>`)) out.push(k);
      return out;
    } catch (err) {
      throw new TributaryError('TRIB_E_UNAVAILABLE', `${this.where}: listing JetStream KV keys: ${(err as Error).message}`, { cause: err });
    }
  }

  private async get(key: string): Promise<KvEntry | null> {
    try {
      return await this.kv.get(key);
    } catch (err) {
      throw new TributaryError('TRIB_E_UNAVAILABLE', `${this.where}: JetStream KV: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The compare-and-set loop: read, compute, write on the revision read; on a conflict, again. */
  private async cas(key: string, next: (env: Envelope<S, O>) => Envelope<S, O> | undefined, now: number): Promise<void> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      await pause(attempt);
      const e = await this.get(key);
      const live = e !== null && e.operation === 'PUT';
      const env: Envelope<S, O> = live ? e.json<Envelope<S, O>>() : { s: null, m: [], w: now };
      const changed = next(env);
      if (!changed) return;
      changed.m = pruneMarkers(changed.m, now);
      try {
        if (changed.s === null && changed.m.length === 0) {
          if (live) await this.kv.delete(key, { previousSeq: e.revision });
          return;
        }
        const data = this.encode(changed);
        if (e) await this.kv.update(key, data, e.revision);
        else await this.kv.create(key, data);
        return;
      } catch (err) {
        if (isConflict(err)) continue;
        if (err instanceof TributaryError) throw err;
        throw new TributaryError('TRIB_E_UNAVAILABLE', `${this.where}: JetStream KV: ${(err as Error).message}`, { cause: err });
      }
    }
    // Retryable: the consumer loop retries the batch, which finds its own writes by their markers.
    throw new TributaryError(
      'TRIB_E_UNAVAILABLE',
      `${this.where}: key ${key} kept changing under ${CAS_ATTEMPTS} compare-and-set attempts`,
    );
  }

  /** JSON of the entry, shrunk (oldest markers first, then the step's own `shrink`) to fit. */
  private encode(env: Envelope<S, O>): string {
    let text = JSON.stringify(env);
    if (text.length <= MAX_ENTRY_BYTES) return text;
    while (env.m.length > 1 && text.length > MAX_ENTRY_BYTES) {
      env.m = env.m.slice(Math.ceil(env.m.length / 4));
      text = JSON.stringify(env);
    }
    if (text.length > MAX_ENTRY_BYTES && env.s !== null) {
      env.s = this.shrink(env.s);
      text = JSON.stringify(env);
    }
    if (Buffer.byteLength(text) > MAX_ENTRY_BYTES) {
      throw new TributaryError('TRIB_E_STEP', `${this.where}: the state of one key outgrew ${MAX_ENTRY_BYTES} bytes`);
    }
    return text;
  }
}

/** Drops markers older than MARKER_TTL_MS, and the oldest beyond MAX_MARKERS. */
function pruneMarkers<O>(m: Marker<O>[], now: number): Marker<O>[] {
  const kept = m.filter((x) => now - x.at < MARKER_TTL_MS);
  return kept.length > MAX_MARKERS ? kept.slice(kept.length - MAX_MARKERS) : kept;
}

/**
 * A lease in JetStream KV: at most one holder at a time for a named job (e.g. running a pull
 * source), handed over when the holder dies. Built on KV compare-and-set (create / update with the
 * expected revision), which nats-server 2.9 supports; per-key TTLs need 2.11, so the expiry time
 * travels in the value and a contender takes the lease over only once it has passed.
 */
import type { KV } from '@nats-io/kv';

interface LeaseValue {
  holder: string;
  expiresAt: number;
}

/** A lease on one key. */
export class KvLease {
  private revision = 0;
  private held = false;
  /**
   * Until when the lease is ours for sure: the expiry written by our last successful acquire or
   * renew, stamped before the request left. Past it another replica may hold it, so the holder
   * stops on its own even when a renewal hangs (never two holders at once).
   */
  validUntil = 0;

  constructor(
    private readonly kv: KV,
    /** KV key, e.g. `source.traffic.simulator` (letters, digits, `-_=./`). */
    readonly key: string,
    /** Unique per replica and run. */
    readonly holder: string,
    /** How long a lease lasts without renewal. */
    readonly ttlMs: number,
  ) {}

  /** Whether this replica held the lease at its last successful acquire or renew. */
  get isHeld(): boolean {
    return this.held;
  }

  /**
   * Takes the lease when it is free, expired or already ours, else returns false. Safe under
   * races: only one compare-and-set on a given revision can win.
   */
  async tryAcquire(now = Date.now()): Promise<boolean> {
    const value = JSON.stringify({ holder: this.holder, expiresAt: now + this.ttlMs } satisfies LeaseValue);
    try {
      const e = await this.kv.get(this.key);
      if (!e || e.operation !== 'PUT') {
        this.revision = e ? await this.kv.update(this.key, value, e.revision) : await this.kv.create(this.key, value);
      } else {
        const cur = e.json<LeaseValue>();
        if (cur.holder !== this.holder && cur.expiresAt > now) {
          this.held = false;
          return false;
        }
        this.revision = await this.kv.update(this.key, value, e.revision);
      }
      this.held = true;
      this.validUntil = now + this.ttlMs;
      return true;
    } catch {
      // Lost a compare-and-set race (wrong last sequence) or KV unavailable: not ours this time.
      this.held = false;
      return false;
    }
  }

  /** Extends a held lease; returns false (and drops it) when someone else took it meanwhile. */
  async renew(now = Date.now()): Promise<boolean> {
    if (!this.held) return false;
    try {
      this.revision = await this.kv.update(
        this.key,
        JSON.stringify({ holder: this.holder, expiresAt: now + this.ttlMs } satisfies LeaseValue),
        this.revision,
      );
      this.validUntil = now + this.ttlMs;
      return true;
    } catch {
      this.held = false;
      return false;
    }
  }

  /** Gives the lease up so another replica can take it at once. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    try {
      await this.kv.update(this.key, JSON.stringify({ holder: '', expiresAt: 0 } satisfies LeaseValue), this.revision);
    } catch {
      // Someone else has it already, or KV is down: it expires on its own.
    }
  }
}

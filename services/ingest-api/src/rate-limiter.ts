/**
 * A token bucket per client. Limits are per process: with N replicas a client gets up to N times
 * the rate, which is what a per-replica Service load balancer gives anyway.
 */

/** Token buckets keyed by client. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes a token for `client`; returns 0 when allowed, else the seconds until one is free. */
  take(client: string, now = Date.now()): number {
    if (this.perSecond <= 0) return 0;
    const b = this.buckets.get(client) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.buckets.set(client, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    if (this.buckets.size > 100_000) this.buckets.clear(); // bound memory under address scans
    return Math.ceil((1 - b.tokens) / this.perSecond);
  }
}

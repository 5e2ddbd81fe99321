/**
 * A request budget shared by every replica: at most `requests` per interval of `perMs`, counted
 * in a fixed window in JetStream KV (`trib_leases`, key `budget.<pipeline>.<name>`) and updated
 * by compare-and-set, so two replicas (or two sources on one connection) cannot both take the
 * last request of a window.
 *
 * Why KV and not "only the lease holder counts": a budget belongs to an API key, which several
 * sources share (OpenWeatherMap current, forecast and history), and their leases may sit on
 * different replicas; a counter in process would also restart at zero on every handover.
 * Fixed windows (aligned to multiples of `perMs` since the epoch) match how the APIs we target
 * count (per minute, per day); they allow a burst of up to twice the budget across a window
 * boundary, which those APIs accept as well.
 */
import type { KV } from '@nats-io/kv';
import { sleep } from './backoff';

interface Window {
  start: number;
  used: number;
}

/** The KV key of a budget. */
export function budgetKey(pipeline: string, name: string): string {
  return `budget.${pipeline}.${name}`;
}

/** Takes requests from a KV-backed fixed-window budget. */
export class KvRequestBudget {
  constructor(
    private readonly kv: KV,
    private readonly key: string,
  ) {}

  /**
   * Waits until a request may go and counts it; resolves with the start of the window it was
   * counted in. Retries lost compare-and-set races at once and sleeps until the next window when
   * this one is spent; rejects when `signal` aborts.
   */
  async take(limit: { requests: number; perMs: number }, signal?: AbortSignal, now: () => number = Date.now): Promise<number> {
    for (;;) {
      signal?.throwIfAborted();
      const t = now();
      const start = Math.floor(t / limit.perMs) * limit.perMs;
      const e = await this.kv.get(this.key);
      const cur = e && e.operation === 'PUT' && e.length > 0 ? e.json<Window>() : undefined;
      const used = cur && cur.start === start ? cur.used : 0;
      if (used >= limit.requests) {
        await sleep(start + limit.perMs - t, signal);
        continue;
      }
      const next = JSON.stringify({ start, used: used + 1 } satisfies Window);
      try {
        if (e) await this.kv.update(this.key, next, e.revision);
        else await this.kv.create(this.key, next);
        return start;
      } catch {
        // Another taker won this revision: read again. (A KV outage surfaces from get() above.)
      }
    }
  }
}

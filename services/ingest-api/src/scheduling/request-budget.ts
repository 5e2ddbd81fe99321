/**
 * A request budget shared by every replica and pipeline that uses the same API credentials: at
 * most `requests` in any sliding interval of `perMs` (less a safety `margin`), kept in JetStream
 * KV (`trib_leases`, key `budget.<identity>`) and updated by compare-and-set, so two takers can
 * never both take the last request.
 *
 * Why sliding and not fixed windows: providers count a sliding interval (Ticketmaster's 5/s,
 * OpenWeatherMap's 60/min), and a fixed window lets up to twice the budget through across a
 * window boundary, which they answer with 429s. The log is kept as counts per slot of 1/100 of
 * the interval (at most ~100 pairs whatever the budget, so a 5000/day budget stays small); a
 * request counts for the whole slot it fell in, which errs on the side of waiting a little longer.
 *
 * Why KV and not "only the lease holder counts": a budget belongs to an API key, which several
 * sources (and pipelines) share, and their leases may sit on different replicas; a counter in
 * process would also restart at zero on every handover.
 *
 * The API can also tell us to wait (`Retry-After` on a 429, `X-RateLimit-Remaining: 0` with a
 * reset time): `block(until)` stores that in the same key, and every taker waits it out.
 */
import { createHash } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { sleep } from './backoff';

/** A budget: `requests` per `perMs`, of which the fraction `margin` is held back. */
export interface BudgetLimit {
  requests: number;
  perMs: number;
  margin?: number;
}

interface State {
  /** Slot length (ms); a change of the budget's interval starts a new log. */
  g: number;
  /** [slot index, requests granted in it], oldest first. */
  b: [number, number][];
  /** No request before this time (ms): the API said so. */
  until?: number;
}

/** Slots per interval: the resolution of the sliding log. */
const SLOTS = 100;

/** The KV key of the budget of an API identity (see `budgetIdentity`). */
export function budgetKey(identity: string): string {
  return `budget.${identity}`;
}

/**
 * The identity a budget belongs to: the API's origin and the credential sent to it, hashed (the
 * secret never leaves the process), so every connection that reaches the same API with the same
 * key shares one budget, in whichever pipeline it is declared.
 */
export function budgetIdentity(baseUrl: string, credential?: string): string {
  return createHash('sha256')
    .update(`${new URL(baseUrl).origin}\n${credential ?? ''}`)
    .digest('hex')
    .slice(0, 24);
}

/** The requests a budget lets through per interval after its margin (at least one). */
export function effectiveRequests(limit: BudgetLimit): number {
  return Math.max(1, Math.floor(limit.requests * (1 - (limit.margin ?? 0)) + 1e-9));
}

/** What one `take` did. */
export interface Taken {
  /** How long it waited for room (ms). */
  waitedMs: number;
  /** The time the request was counted at (ms since epoch). */
  grantedAt: number;
}

/** Takes requests from a KV-backed sliding-window budget. */
export class KvRequestBudget {
  constructor(
    private readonly kv: KV,
    private readonly key: string,
  ) {}

  /**
   * Waits until a request may go and counts it. Retries lost compare-and-set races at once,
   * sleeps until the oldest counted request leaves the interval when the budget is spent, or
   * until the time the API asked for; rejects when `signal` aborts.
   */
  async take(limit: BudgetLimit, signal?: AbortSignal, now: () => number = Date.now): Promise<Taken> {
    const g = Math.max(1, Math.ceil(limit.perMs / SLOTS));
    const allowed = effectiveRequests(limit);
    let waitedMs = 0;
    const wait = async (ms: number): Promise<void> => {
      const started = now();
      await sleep(ms, signal);
      waitedMs += now() - started;
    };
    for (;;) {
      signal?.throwIfAborted();
      const t = now();
      const e = await this.kv.get(this.key);
      const cur = e && e.operation === 'PUT' && e.length > 0 ? e.json<State>() : undefined;
      if (cur?.until !== undefined && cur.until > t) {
        await wait(cur.until - t);
        continue;
      }
      // A slot counts while any part of it is inside (t - perMs, t].
      const live = cur && cur.g === g ? cur.b.filter(([i]) => (i + 1) * g > t - limit.perMs) : [];
      const used = live.reduce((n, [, c]) => n + c, 0);
      if (used >= allowed) {
        // Room comes when enough of the oldest slots have left the interval.
        let drop = used - allowed + 1;
        let at = t + g;
        for (const [i, c] of live) {
          drop -= c;
          if (drop <= 0) {
            at = (i + 1) * g + limit.perMs;
            break;
          }
        }
        await wait(Math.max(1, at - t));
        continue;
      }
      const slot = Math.floor(t / g);
      const last = live[live.length - 1];
      const b: [number, number][] = last && last[0] === slot ? [...live.slice(0, -1), [slot, last[1] + 1]] : [...live, [slot, 1]];
      const next = JSON.stringify({ g, b } satisfies State);
      try {
        if (e) await this.kv.update(this.key, next, e.revision);
        else await this.kv.create(this.key, next);
        return { waitedMs, grantedAt: t };
      } catch {
        // Another taker won this revision: read again. (A KV outage surfaces from get() above.)
      }
    }
  }

  /** Holds every taker of this budget until `until` (ms since epoch), e.g. from `Retry-After`; never shortens a longer hold. */
  async block(until: number): Promise<void> {
    for (let tries = 0; tries < 10; tries++) {
      const e = await this.kv.get(this.key);
      const cur = e && e.operation === 'PUT' && e.length > 0 ? e.json<State>() : { g: 1, b: [] };
      if (cur.until !== undefined && cur.until >= until) return;
      const next = JSON.stringify({ ...cur, until } satisfies State);
      try {
        if (e) await this.kv.update(this.key, next, e.revision);
        else await this.kv.create(this.key, next);
        return;
      } catch {
        // Lost a race with a taker: read again.
      }
    }
  }
}

/**
 * How often report queries may run again, shared by every page and viewer of the monitor: one
 * cached result per (report version, query, bound inputs), kept until a load commits to a table
 * the query reads, and then re-run at most once per `max(floor, factor × its last run time)`.
 * Re-runs caused by loads (not first runs, not a viewer's new inputs) also go through one lane
 * for the whole monitor that keeps them under `share` of one connection's time: a slow query
 * over a large table refreshes less often rather than taking the warehouse from the pipeline.
 * Those re-runs go without parallel workers (`run(true)`), so their share of a connection is a
 * share of one core. A result served while newer loads wait says so (`stale`, `next_at`); tiles
 * show its age.
 */
import type { QueryResult } from './query-runner';

/** When a query may run again (the monitor's defaults, or a report's own). */
export interface RefreshPolicy {
  /** Least time between two runs of one query with the same inputs, ms. */
  floorMs: number;
  /** A query runs again at most once per `factor` × its last run time. */
  factor: number;
}

/** What the table loads looked like when a query ran: a signature (changes with every load) and the newest ingest time. */
export interface LoadState {
  signature: string;
  newestIngestedMs: number | null;
}

/** One query's outcome as a page gets it. */
export type Served = (QueryResult & Freshness) | { error: { code: string; message: string; line?: number }; ran_at: string };

/** How current a served result is. */
export interface Freshness {
  /** When the query ran. */
  ran_at: string;
  /** The newest ingest time loaded into the tables it reads, when it ran (null: none, or it reads no loaded table). */
  as_of: string | null;
  /** Loads committed since it ran, and the policy holds the re-run back. */
  stale: boolean;
  /** With `stale`: the earliest time a re-run may start (ask again after it). */
  next_at: string | null;
}

type Outcome = { ok: QueryResult } | { err: { code: string; message: string; line?: number } };

interface Entry {
  outcome?: Outcome;
  /** The run in progress (first run or refresh). */
  running?: Promise<void>;
  /** Waiting in the refresh lane. */
  queued: boolean;
  loads: LoadState;
  ranAt: number;
  ms: number;
  used: number;
}

/**
 * Runs queries for many viewers with one run per (key, loads). `run` does the work; `loads`
 * says what the tables look like now.
 */
export class SharedResults {
  private readonly entries = new Map<string, Entry>();
  private readonly lane: Array<{ entry: Entry; job: () => Promise<void> }> = [];
  /** The lane's job in progress: its entry and when it started. */
  private laneBusy: { entry: Entry; started: number } | undefined;
  /** The refresh lane may start its next job at this time (epoch ms). */
  private laneFreeAt = 0;
  private laneTimer: NodeJS.Timeout | undefined;
  /** Counters for metrics and tests. */
  readonly counts = { runs: 0, refreshes: 0, served: 0, servedStale: 0 };

  constructor(
    private readonly opts: {
      /** Share of one connection's time live refreshes may take, all reports together (0-1]. */
      share: number;
      maxEntries: number;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** The result for `key`, running the query when there is none, or when loads and the policy allow. */
  async get(
    key: string,
    loads: () => Promise<LoadState>,
    policy: RefreshPolicy,
    run: (background: boolean) => Promise<QueryResult>,
    errorOf: (err: unknown) => { code: string; message: string; line?: number },
  ): Promise<Served> {
    const loadsNow = await loads();
    let e = this.entries.get(key);
    if (!e) {
      e = { queued: false, loads: loadsNow, ranAt: 0, ms: 0, used: 0 };
      this.entries.set(key, e);
      this.evict();
      void this.start(e, () => Promise.resolve(loadsNow), run, errorOf, false);
    }
    e.used = this.now();
    if (e.running && !e.outcome) await e.running;
    if (e.outcome && e.loads.signature !== loadsNow.signature && !e.running && !e.queued) {
      const due = e.ranAt + e.ms + Math.max(policy.floorMs, policy.factor * e.ms);
      if (this.now() >= due) this.enqueue(e, loads, run, errorOf);
    }
    // A refresh that started at once (the lane was free) is waited for: the page gets new rows in one request.
    if (e.running) await e.running;
    return this.serve(e, await loads(), policy);
  }

  private serve(e: Entry, loadsNow: LoadState, policy: RefreshPolicy): Served {
    this.counts.served++;
    const ran_at = new Date(e.ranAt).toISOString();
    const o = e.outcome!;
    if ('err' in o) return { error: o.err, ran_at };
    const stale = e.loads.signature !== loadsNow.signature;
    if (stale) this.counts.servedStale++;
    const due = Math.max(e.ranAt + e.ms + Math.max(policy.floorMs, policy.factor * e.ms), e.queued ? this.laneStartOf(e) : 0, this.now());
    return {
      ...o.ok,
      ran_at,
      as_of: e.loads.newestIngestedMs === null ? null : new Date(e.loads.newestIngestedMs).toISOString(),
      stale,
      next_at: stale ? new Date(due).toISOString() : null,
    };
  }

  /** Runs the query now (first runs and the refresh lane's jobs), noting the loads it sees as it starts. */
  private start(
    e: Entry,
    loads: () => Promise<LoadState>,
    run: (background: boolean) => Promise<QueryResult>,
    errorOf: (err: unknown) => { code: string; message: string; line?: number },
    background: boolean,
  ): Promise<void> {
    this.counts.runs++;
    e.running = (async () => {
      const seen = await loads().catch(() => e.loads);
      const started = this.now();
      try {
        e.outcome = { ok: await run(background) };
      } catch (err) {
        e.outcome = { err: errorOf(err) };
      } finally {
        e.ms = Math.max(0, this.now() - started);
        e.ranAt = started;
        e.loads = seen;
        e.running = undefined;
      }
    })();
    return e.running;
  }

  /** Queues a refresh in the lane; it starts at once when the lane is free. */
  private enqueue(
    e: Entry,
    loads: () => Promise<LoadState>,
    run: (background: boolean) => Promise<QueryResult>,
    errorOf: (err: unknown) => { code: string; message: string; line?: number },
  ): void {
    e.queued = true;
    this.lane.push({
      entry: e,
      job: () => {
        e.queued = false;
        this.counts.refreshes++;
        return this.start(e, loads, run, errorOf, true);
      },
    });
    this.pump();
  }

  /** When a queued entry's refresh should start: after the job in progress, those ahead of it, and their rests (estimated from their last run times). */
  private laneStartOf(e: Entry): number {
    const rest = 1 / this.opts.share - 1;
    const now = this.now();
    let at = this.laneBusy
      ? Math.max(now, this.laneBusy.started + this.laneBusy.entry.ms) + this.laneBusy.entry.ms * rest
      : Math.max(now, this.laneFreeAt);
    for (const item of this.lane) {
      if (item.entry === e) break;
      at += item.entry.ms * (1 + rest);
    }
    return at;
  }

  private pump(): void {
    if (this.laneBusy || this.lane.length === 0) return;
    const wait = this.laneFreeAt - this.now();
    if (wait > 0) {
      this.laneTimer ??= setTimeout(() => {
        this.laneTimer = undefined;
        this.pump();
      }, wait);
      this.laneTimer.unref?.();
      return;
    }
    const { entry, job } = this.lane.shift()!;
    const started = this.now();
    this.laneBusy = { entry, started };
    void job().finally(() => {
      const took = this.now() - started;
      this.laneBusy = undefined;
      this.laneFreeAt = this.now() + took * (1 / this.opts.share - 1);
      this.pump();
    });
  }

  private evict(): void {
    if (this.entries.size <= this.opts.maxEntries) return;
    const idle = [...this.entries].filter(([, e]) => !e.running && !e.queued).sort((a, b) => a[1].used - b[1].used);
    for (const [k] of idle.slice(0, this.entries.size - this.opts.maxEntries)) this.entries.delete(k);
  }

  /** Stops the lane's timer (the monitor stopping). */
  close(): void {
    clearTimeout(this.laneTimer);
    this.lane.length = 0;
  }
}

/**
 * The contract between a pull source (rest, postgres_cdc, postgres_poll, file, object_store, ...)
 * and the scheduler that runs it (this folder). A pull source only knows how to do one run;
 * the scheduler decides when (cron, interval, or continuously), makes sure exactly one ingest-api
 * replica runs it at a time (a lease in JetStream KV), and gives each run what it needs. The
 * contract lives beside the scheduler so `sources/` depends on `scheduling/` and never the other
 * way round; a source kind wraps its run with `pullSource()` (`../sources/pull-source.ts`).
 *
 * Rules a `run` follows (the conformance suite in `test/conformance.ts` checks them):
 * 1. Publish through `ctx.publish(records, position)`: it resolves only after JetStream acked
 *    every message, and the message ID is `<source>:<position>`. `position` must name the source
 *    position deterministically (page URL or cursor + cursor window, LSN, file hash + offset), so
 *    a crash and retry publishes the same IDs and JetStream/the loader's ledger drop the repeats.
 * 2. Commit a cursor (`ctx.cursors.commit`) only after the publishes it covers resolved.
 * 3. Stop promptly when `ctx.signal` aborts (shutdown, or the lease was lost), without
 *    committing anything it has not published. Throwing `ctx.signal.reason` is fine.
 * 4. Throw on failure: the run is logged, counted, and the next run starts from the last cursor.
 */
import type { ErrorCode, ErrorLocation } from '@tributary/contract/errors';
import type { SchemaProblem } from '@tributary/contract/schema';
import type { Pipeline, PullScheduleSpec } from '@tributary/contract/spec';
import type { Logger } from '@tributary/runtime/logger';
import type { Registry } from 'prom-client';
import type { IngestResult, JsonLines, SourceTimeRule } from '../record-ingestor';
import type { BudgetLimit } from './request-budget';

/** Where a pull source remembers its position between runs (JetStream KV bucket `trib_cursors`). */
export interface CursorStore {
  /**
   * The committed value under `sub` (a sub-key such as a fan-out parent or a table name; default
   * the source itself), or undefined when nothing was committed yet.
   */
  get<T = unknown>(sub?: string): Promise<T | undefined>;
  /**
   * Commits `value` under `sub`. Compare-and-set against what this store last read or wrote, so a
   * replica that lost its lease cannot move a cursor another replica moved meanwhile: that throws
   * TRIB_E_UNAVAILABLE and the run ends. Call only after the records it covers were published.
   */
  commit<T = unknown>(value: T, sub?: string): Promise<void>;
}

/** Publishes records of one source: `ingest()` of the record ingestor, resolving after PubAck. */
export interface SourceIngestor {
  ingest(
    pipeline: Pipeline,
    source: string,
    records: unknown[] | JsonLines,
    id: string,
    ingestedAt?: number,
    sentLines?: readonly string[],
    sourceTime?: SourceTimeRule,
  ): Promise<IngestResult>;
}

/** What one run of a pull source gets. */
export interface PullContext {
  /** The pipeline the source belongs to. */
  readonly pipeline: Pipeline;
  /** The source's name in the pipeline. */
  readonly source: string;
  /**
   * Validates, batches and publishes `records` with message IDs `<source>:<position>[:<part>]`;
   * resolves after JetStream acknowledged all of them. `position` must be deterministic (see rule 1).
   * `sourceTime`: where the records' source time comes from; by default the source's
   * `source_time` field when its spec has one, else none. `JsonLines`: records already as JSON text.
   */
  publish(records: unknown[] | JsonLines, position: string, sourceTime?: SourceTimeRule): Promise<IngestResult>;
  /**
   * Dead-letters one item the source could not turn into records (a malformed page, a CSV row
   * that does not parse) on `trib.dlq.<pipeline>.ingest.<source>` with message ID
   * `<source>:<position>:dlq`; resolves after PubAck. Records that fail the source schema are
   * dead-lettered by `publish` already.
   */
  deadLetter(
    item: { record: unknown; code: ErrorCode; message: string; location?: ErrorLocation; details?: SchemaProblem[]; more?: number },
    position: string,
  ): Promise<void>;
  /**
   * Waits until one request of the shared budget `identity` may go: at most `requests` in any
   * sliding `perMs` (less `margin`) across every replica, source and pipeline using it (a log in
   * KV `trib_leases`, key `budget.<identity>`). Rejects with `signal.reason` when the run is
   * aborted meanwhile.
   */
  takeBudget(identity: string, limit: BudgetLimit): Promise<void>;
  /** Holds every taker of budget `identity` until `until` (ms since epoch): the API asked for a pause. */
  holdBudget(identity: string, until: number): Promise<void>;
  /**
   * Reads the records published so far for a source (its raw stream) or dataset (its processed
   * stream) of this pipeline, oldest first, from `sinceMs` (ms since epoch) when given, and ends
   * at the newest one (it does not wait for more).
   */
  readRecords(from: string, opts?: { sinceMs?: number }): AsyncIterable<Record<string, unknown>>;
  /**
   * The newest message this source published that its raw stream still holds: its message ID
   * (`<pipeline>/<source>:<position>[:<part>]`), its `Trib-Part` (`<n>/<of>`) when split, and its
   * records; undefined when there is none. What a source can trust was stored whatever its cursor
   * says (the CDC snapshot resumes after it).
   */
  lastPublished(): Promise<{ id: string; part?: string; records: Record<string, unknown>[] } | undefined>;
  /** The underlying ingestor, for sources that need another message ID scheme. */
  readonly ingestor: SourceIngestor;
  /** This source's cursors (keys `<pipeline>.<source>[.<sub>]` in `trib_cursors`). */
  readonly cursors: CursorStore;
  /** Aborted on shutdown and when this replica loses the source's lease: stop, commit nothing more. */
  readonly signal: AbortSignal;
  /** Logger bound to the pipeline, source and run. */
  readonly logger: Logger;
  /** When this run was due (ms since epoch); the same value for every retry of a missed run. */
  readonly scheduledAt: number;
  /** Unique ID of this run, for logs. */
  readonly runId: string;
  /** The service's Prometheus registry, for a source's own `tributary_*` metrics (register once per registry). */
  readonly metrics: Registry;
  /**
   * A continuous source (one whose `run` streams until aborted, such as change data capture) calls
   * this whenever it has shown it works end to end (a batch acknowledged by JetStream, or nothing
   * to publish): its run never finishes, so without it the failures before the current run would
   * count forever and the source would stay "failing". Resets the consecutive failures and sets the
   * last success to now (written at most every few seconds; never throws).
   */
  healthy(): void;
}

/** What a run may tell the scheduler (optional: resolving with nothing is the common case). */
export interface PullRunResult {
  /** Run again after this many ms instead of at the next scheduled time (e.g. nothing to fan out from yet). */
  retryInMs?: number;
  /**
   * The run read what it could but not everything (e.g. a result deeper than the API pages):
   * why, naming the windows. It is recorded as a `partial` run, never as a success, and the
   * source is not retried for it (the same request would give the same answer).
   */
  partial?: string;
  /** Pages requested and records read in the run, for the run's record. */
  pages?: number;
  records?: number;
}

/** One pull source: `run` does one pass (or, for continuous sources, runs until aborted). */
export interface PullSource {
  /** Does one run; resolves when caught up (or aborted), rejects on failure. */
  run(ctx: PullContext): Promise<void | PullRunResult>;
  /** Releases resources held across runs (connections, replication slots' clients). Optional. */
  close?(): Promise<void>;
}

/**
 * When a pull source runs, from its spec's `schedule` (core `pullScheduleSpec`): an interval, a
 * cron expression, or continuously (no `schedule`: `run` is started again whenever it returns,
 * for sources such as change data capture that stream until aborted).
 */
export type PullSchedule = PullScheduleSpec | undefined;

/** A pull source on its schedule: `start` takes it up, `stop` aborts the run in progress and waits for it. */
export interface ScheduledPull {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What the scheduler needs to run a pull source; implemented by `source-runner.ts`. */
export interface PullScheduler {
  /** Starts running `source` on `schedule` under the lease `source.<pipeline>.<source>`. */
  add(opts: { pipeline: Pipeline; name: string; schedule: PullSchedule; source: PullSource; logger: Logger }): ScheduledPull;
}

/**
 * What the scheduler of pull sources keeps per source in the KV bucket `trib_cursors`, in one
 * place for the three parts that read or write it: the ingest-api's scheduler (writes the
 * schedule state, obeys the pause), the monitor (shows the last run, alerts, pauses from the
 * dashboard) and the CLI (`tributary sources pause|resume`).
 *
 * - `schedule.<pipeline>.<source>`: when the next run is due, consecutive failures, the last run.
 * - `pause.<pipeline>.<source>`: present while an operator paused the source (who, when, why).
 * - `cursor.<pipeline>.<source>[.<sub>]`: the source's position (its kind's own JSON), committed by
 *   the source after the records before it were acknowledged; `tributary offsets` shows and moves it.
 *
 * The source's lease (which replica runs it) is `source.<pipeline>.<source>` in `trib_leases`.
 */
import type { KV } from '@nats-io/kv';

/** The record of a source's last finished run. */
export interface SourceLastRun {
  scheduledAt: number;
  startedAt?: number;
  finishedAt: number;
  /** `partial`: read what it could and says what it left in `error`. */
  outcome: 'ok' | 'partial' | 'failed';
  pages?: number;
  records?: number;
  error?: string;
}

/** A pull source's schedule state. */
export interface SourceScheduleState {
  /** When the pending run is (or was) due; its `scheduledAt`. */
  due: number;
  /** Consecutive failed runs of `due`. */
  failures: number;
  /** When to retry a failed run (with backoff); unset when the last run succeeded. */
  retryAt?: number;
  last?: SourceLastRun;
  /** When a run last succeeded whole (`ok`); unset before the first. */
  lastOkAt?: number;
  /** When the scheduler first saw the source (the start of "not succeeded yet"). */
  since?: number;
  /**
   * When the scheduler last found the source paused and held its due run back: no run of it was
   * in progress then, so `tributary offsets` may move the cursor of a source paused before this.
   */
  held?: number;
}

/** An operator's pause of a source. */
export interface SourcePause {
  at: number;
  by: string;
  reason?: string;
}

/** The KV key of a source's schedule state. */
export function scheduleKey(pipeline: string, source: string): string {
  return `schedule.${pipeline}.${source}`;
}

/** Key-safe form of a cursor sub-key: KV keys allow letters, digits and `-_=/.`; anything else is encoded. */
function subKey(sub: string): string {
  return /^[A-Za-z0-9_=/-]+(\.[A-Za-z0-9_=/-]+)*$/.test(sub) ? sub : `b64-${Buffer.from(sub).toString('base64url')}`;
}

/** The KV key of a source's cursor (or one of its sub-keys). */
export function cursorKey(pipeline: string, source: string, sub?: string): string {
  return sub === undefined ? `cursor.${pipeline}.${source}` : `cursor.${pipeline}.${source}.${subKey(sub)}`;
}

/** The KV key (in `trib_leases`) of the lease of the replica running a pull source. */
export function leaseKey(pipeline: string, source: string): string {
  return `source.${pipeline}.${source}`;
}

/** The KV key of a source's pause. */
export function pauseKey(pipeline: string, source: string): string {
  return `pause.${pipeline}.${source}`;
}

async function readJson<T>(kv: KV, key: string): Promise<T | undefined> {
  const e = await kv.get(key);
  return e && e.operation === 'PUT' && e.length > 0 ? e.json<T>() : undefined;
}

/** The schedule state of a source, or undefined before its first look. */
export function readScheduleState(kv: KV, pipeline: string, source: string): Promise<SourceScheduleState | undefined> {
  return readJson<SourceScheduleState>(kv, scheduleKey(pipeline, source));
}

/** The pause of a source, or undefined while it runs. */
export function readSourcePause(kv: KV, pipeline: string, source: string): Promise<SourcePause | undefined> {
  return readJson<SourcePause>(kv, pauseKey(pipeline, source));
}

/** Pauses (`pause` given) or resumes (undefined) a source; the scheduler picks it up before its next run. */
export async function setSourcePause(kv: KV, pipeline: string, source: string, pause: SourcePause | undefined): Promise<void> {
  if (pause) await kv.put(pauseKey(pipeline, source), JSON.stringify(pause));
  else await kv.delete(pauseKey(pipeline, source));
}

/**
 * The cursor sub-key of a `postgres_cdc` source's resnapshot request
 * (`cursor.<pipeline>.<source>.resnapshot`): written by `tributary sources resnapshot`, taken up
 * and advanced by the running source, shown by `tributary sources status` and the monitor.
 */
export const RESNAPSHOT_SUB = 'resnapshot';

/** A request to re-read one source table (or the rows of it a predicate selects), and how it went. */
export interface SourceResnapshot {
  /** Unique per request: part of the re-read's message IDs. */
  id: string;
  /** `schema.table` on the source. */
  table: string;
  /** A SQL predicate on the table's columns; unset: every row. */
  where?: string;
  requestedAt: number;
  by: string;
  /**
   * `requested`: waiting for the source; `running`: being read and published (a restart reads it
   * again from the start); `done`: every row published and the stream past the snapshot's LSN;
   * `failed`: see `error` (the source keeps streaming).
   */
  state: 'requested' | 'running' | 'done' | 'failed';
  /** Attempts taken up so far (a restart during `running` takes another). */
  attempts?: number;
  startedAt?: number;
  /** The LSN the re-read's snapshot was taken at (the re-read rows' `_lsn`). */
  lsn?: string;
  /** Rows published. */
  rows?: number;
  finishedAt?: number;
  error?: string;
}

/** The source's resnapshot request (the last one, whatever its state), or undefined. */
export function readResnapshot(kv: KV, pipeline: string, source: string): Promise<SourceResnapshot | undefined> {
  return readJson<SourceResnapshot>(kv, cursorKey(pipeline, source, RESNAPSHOT_SUB));
}

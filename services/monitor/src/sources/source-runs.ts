/**
 * The runs of a pipeline's pull sources as an operator needs to see them: the last run (outcome,
 * pages, records, error), the next one, consecutive failures, the last success, whether an
 * operator paused it, and what that adds up to (`status`). Read from the scheduler's state in KV
 * (`trib_cursors`, see `@tributary/core` `source-state`), which survives restarts and handovers.
 *
 * A source is `overdue` when it has not succeeded whole within its schedule period plus slack,
 * and `stale` when nothing was read (no ok or partial run) for longer than the pipeline's SLA
 * plus its period: then the pipeline is not fresh, however caught up the loader is.
 */
import type { KV } from '@nats-io/kv';
import type { Pipeline } from '@tributary/contract/spec';
import {
  readResnapshot,
  readScheduleState,
  readSourcePause,
  type SourcePause,
  type SourceResnapshot,
  type SourceScheduleState,
} from '@tributary/runtime/nats';
import type { SourceResnapshotView, SourceRunView } from '@tributary/contract/monitor-api';
export type { SourceRunView } from '@tributary/contract/monitor-api';

/** Source kinds that are pulled on a schedule by the ingest-api (the others are pushed to it). */
const PUSHED = new Set(['push', 'generator']);

/** Thresholds of the source views. */
export interface SourceRunThresholds {
  /** Added to the schedule period before a source counts as overdue. */
  slackMs: number;
}

const iso = (t: number | undefined): string | null => (t === undefined ? null : new Date(t).toISOString());

/** The schedule period of a source (ms): `every`, else the gap between its last and next run; undefined when continuous or unknown. */
function periodMs(spec: unknown, state: SourceScheduleState | undefined): number | undefined {
  const schedule = (spec as { schedule?: { every?: number; cron?: string } }).schedule;
  if (!schedule) return undefined;
  if (schedule.every !== undefined) return schedule.every;
  if (state?.last && state.due > state.last.scheduledAt) return state.due - state.last.scheduledAt;
  return 86_400_000;
}

/** The view of a resnapshot request. */
function resnapshotView(r: SourceResnapshot): SourceResnapshotView {
  return {
    table: r.table,
    where: r.where ?? null,
    state: r.state,
    requested_at: new Date(r.requestedAt).toISOString(),
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    lsn: r.lsn ?? null,
    rows: r.rows ?? null,
    attempts: r.attempts ?? 0,
    error: r.error ?? null,
  };
}

/** Builds the view of one source (pure: unit-tested). */
export function sourceRunView(
  pipeline: Pipeline,
  source: string,
  state: SourceScheduleState | undefined,
  pause: SourcePause | undefined,
  now: number,
  t: SourceRunThresholds,
  resnapshot?: SourceResnapshot,
): SourceRunView {
  const spec = pipeline.sources[source]!;
  const period = periodMs(spec, state);
  const since = state?.lastOkAt ?? state?.since;
  const sinceSuccess = since === undefined ? null : Math.max(0, now - since) / 1000;
  const deadline = period === undefined ? null : (period + t.slackMs) / 1000;
  const lastRead = state?.last && state.last.outcome !== 'failed' ? state.last.finishedAt : state?.since;
  const stale = period !== undefined && lastRead !== undefined && now - lastRead > pipeline.slaFreshnessMs + period;
  const last = state?.last;
  let status: SourceRunView['status'] = 'pending';
  if (pause) status = 'paused';
  else if ((state?.failures ?? 0) > 0) status = 'failing';
  else if (deadline !== null && sinceSuccess !== null && sinceSuccess > deadline) status = 'overdue';
  else if (last?.outcome === 'partial') status = 'partial';
  else if (last) status = 'ok';
  return {
    source,
    kind: spec.kind,
    status,
    paused: pause ? { at: new Date(pause.at).toISOString(), by: pause.by, ...(pause.reason ? { reason: pause.reason } : {}) } : null,
    last: last
      ? {
          outcome: last.outcome,
          started_at: iso(last.startedAt),
          finished_at: new Date(last.finishedAt).toISOString(),
          pages: last.pages ?? null,
          records: last.records ?? null,
          error: last.error ?? null,
        }
      : null,
    next_run_at: period === undefined || !state ? null : iso(state.retryAt ?? state.due),
    consecutive_failures: state?.failures ?? 0,
    last_success_at: iso(state?.lastOkAt),
    since_success_seconds: sinceSuccess,
    success_deadline_seconds: deadline,
    stale: !pause && stale,
    ...(spec.kind === 'postgres_cdc' ? { resnapshot: resnapshot ? resnapshotView(resnapshot) : null } : {}),
  };
}

/** Reads the source views of every pipeline from KV. */
export class SourceRuns {
  constructor(
    private readonly kv: KV | undefined,
    private readonly pipelines: readonly Pipeline[],
    private readonly thresholds: SourceRunThresholds,
  ) {}

  /** The pull sources of `pipeline`, in spec order (empty without the KV bucket). */
  async of(pipeline: Pipeline, now = Date.now()): Promise<SourceRunView[]> {
    const kv = this.kv;
    if (!kv) return [];
    const names = Object.entries(pipeline.sources)
      .filter(([, s]) => !PUSHED.has(s.kind))
      .map(([name]) => name);
    return Promise.all(
      names.map(async (name) => {
        const cdc = pipeline.sources[name]!.kind === 'postgres_cdc';
        const [state, pause, resnapshot] = await Promise.all([
          readScheduleState(kv, pipeline.name, name),
          readSourcePause(kv, pipeline.name, name),
          cdc ? readResnapshot(kv, pipeline.name, name) : undefined,
        ]);
        return sourceRunView(pipeline, name, state, pause, now, this.thresholds, resnapshot);
      }),
    );
  }

  /** Every pipeline's source views, by pipeline name. */
  async all(now = Date.now()): Promise<Map<string, SourceRunView[]>> {
    const out = new Map<string, SourceRunView[]>();
    for (const p of this.pipelines) out.set(p.name, await this.of(p, now));
    return out;
  }
}

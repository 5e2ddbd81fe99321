/**
 * A paused pipeline: key `pause.<pipeline>` of the KV bucket `trib_cursors` (beside the pull
 * sources' `pause.<pipeline>.<source>`), present while the pipeline is paused. The transformer
 * reads it before taking more of the pipeline's raw messages: paused, its consumer loop stops and
 * accepted records wait in TRIB_RAW; resumed, they are transformed and loaded. An operator sets it
 * (dashboard, `POST /api/pipelines/<name>/pause`, `tributary pipelines pause`), and so does the
 * transformer's circuit breaker when the pipeline's records fail at a high rate (`breaker` says
 * why). Only an operator resumes.
 */
import type { KV } from '@nats-io/kv';

/** Why a circuit breaker paused a pipeline: the failure rate it measured over its window. */
export interface BreakerTrip {
  /** Records that failed, and records transformed, within the window. */
  failed: number;
  records: number;
  /** The configured rate it crossed, and the window in ms. */
  threshold: number;
  windowMs: number;
  /** The most frequent error code and message among the failures. */
  code?: string;
  sample?: string;
}

/** A pipeline's pause. */
export interface PipelinePause {
  at: number;
  /** Who paused it: an operator, or `circuit breaker`. */
  by: string;
  reason?: string;
  /** Set when the circuit breaker paused it. */
  breaker?: BreakerTrip;
}

/** The KV key of a pipeline's pause. */
export function pipelinePauseKey(pipeline: string): string {
  return `pause.${pipeline}`;
}

/** The pause of a pipeline, or undefined while it runs. */
export async function readPipelinePause(kv: KV, pipeline: string): Promise<PipelinePause | undefined> {
  const e = await kv.get(pipelinePauseKey(pipeline));
  return e && e.operation === 'PUT' && e.length > 0 ? e.json<PipelinePause>() : undefined;
}

/** Pauses (`pause` given) or resumes (undefined) a pipeline; its transformers stop or start within a second. */
export async function setPipelinePause(kv: KV, pipeline: string, pause: PipelinePause | undefined): Promise<void> {
  if (pause) await kv.put(pipelinePauseKey(pipeline), JSON.stringify(pause));
  else await kv.delete(pipelinePauseKey(pipeline));
}

/** The words a pause is shown with: "paused by circuit breaker: 412 of 500 records failed ..." or "paused by alice: reason". */
export function describePause(p: PipelinePause): string {
  if (p.breaker) {
    const b = p.breaker;
    const pct = (n: number): string => `${Math.round(n * 100)}%`;
    return (
      `paused by circuit breaker: ${b.failed} of ${b.records} records failed in ${Math.round(b.windowMs / 1000)}s ` +
      `(${pct(b.failed / Math.max(1, b.records))} > ${pct(b.threshold)})${b.code ? `, mostly ${b.code}` : ''}${b.sample ? `: ${b.sample}` : ''}`
    );
  }
  return `paused by ${p.by}${p.reason ? `: ${p.reason}` : ''}`;
}

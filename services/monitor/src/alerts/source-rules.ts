/**
 * Alert rules of pull sources, from the source runs in the pipeline status: a source that failed
 * several runs in a row, and one that has not succeeded within its schedule period plus slack
 * (which also catches a source whose runs end partial, or never start). A paused source raises
 * neither: an operator stopped it on purpose. The Prometheus rules (alert-catalogue.ts) read the
 * monitor's `tributary_source_consecutive_failures` and `tributary_source_since_success_seconds` gauges.
 */
import type { PipelineStatus } from '../status/pipeline-status';
import { ALERT_SEVERITY } from './alert-catalogue';
import type { AlertCondition } from './alert-condition';

/** The source rules' conditions that hold now. */
export function sourceConditions(pipelines: readonly PipelineStatus[], failuresThreshold: number): AlertCondition[] {
  const out: AlertCondition[] = [];
  for (const p of pipelines) {
    for (const r of p.source_runs ?? []) {
      if (r.paused) continue;
      const labels = { pipeline: p.name, source: r.source };
      const error = r.last?.error ? `: ${r.last.error}` : '';
      if (r.consecutive_failures >= failuresThreshold) {
        out.push({
          alert: 'TributarySourceFailing',
          labels,
          severity: ALERT_SEVERITY.TributarySourceFailing,
          summary: `${p.name}: source ${r.source} failed ${r.consecutive_failures} runs in a row${error}`.slice(0, 300),
          value: r.consecutive_failures,
        });
      }
      if (r.since_success_seconds !== null && r.success_deadline_seconds !== null && r.since_success_seconds > r.success_deadline_seconds) {
        const last = r.last ? `last run ${r.last.outcome}${error}` : 'no run finished yet';
        out.push({
          alert: 'TributarySourceOverdue',
          labels,
          severity: ALERT_SEVERITY.TributarySourceOverdue,
          summary:
            `${p.name}: source ${r.source} has not succeeded for ${Math.round(r.since_success_seconds)} s (schedule plus slack: ${Math.round(r.success_deadline_seconds)} s); ${last}`.slice(
              0,
              300,
            ),
          value: r.since_success_seconds,
        });
      }
    }
  }
  return out;
}

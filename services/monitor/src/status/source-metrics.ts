/**
 * Prometheus gauges of pull sources, from the same status snapshot as `/api` (the scheduler's
 * state in KV): what the Prometheus copies of TributarySourceFailing and TributarySourceOverdue
 * read. A paused source is left out, as the monitor's own rules leave it out.
 */
import { Gauge, type Registry } from 'prom-client';
import type { StatusSnapshot, StatusSnapshots } from './status-snapshot';
import type { SourceRunView } from '../sources/source-runs';

/** Registers the source gauges (computed on scrape). */
export function registerSourceMetrics(registry: Registry, snapshots: StatusSnapshots): void {
  const gauge = (name: string, help: string, value: (r: SourceRunView) => number | null): void => {
    new Gauge({
      name,
      help,
      labelNames: ['pipeline', 'source'],
      registers: [registry],
      async collect() {
        const s: StatusSnapshot | undefined = await snapshots.get().catch(() => undefined);
        this.reset();
        for (const p of s?.pipelines ?? []) {
          for (const r of p.source_runs ?? []) {
            const v = r.paused ? null : value(r);
            if (v !== null) this.set({ pipeline: p.name, source: r.source }, v);
          }
        }
      },
    });
  };
  gauge(
    'tributary_source_consecutive_failures',
    'Consecutive failed runs of a pull source (0 after a run that did not fail).',
    (r) => r.consecutive_failures,
  );
  gauge(
    'tributary_source_since_success_seconds',
    'Seconds since a pull source last succeeded whole (or since the scheduler first saw it).',
    (r) => r.since_success_seconds,
  );
  gauge(
    'tributary_source_success_deadline_seconds',
    "A pull source's schedule period plus slack: no success for longer raises TributarySourceOverdue.",
    (r) => r.success_deadline_seconds,
  );
}

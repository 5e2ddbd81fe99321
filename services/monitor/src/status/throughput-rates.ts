/**
 * Records per second on each node of a pipeline's flow (source accepted, dataset produced, table
 * loaded, dead-lettered), from the difference between durable counts over a short window. The
 * counts come from status snapshots, so rates need no extra query.
 */
import type { PipelineStatus } from './pipeline-status';
import type { PipelineRates } from '@tributary/contract/monitor-api';
export type { PipelineRates } from '@tributary/contract/monitor-api';

type Counts = Map<string, number>;

/** Flattens a status into named counters: `source:x`, `dataset:x`, `table:x`, `accepted`, ... */
function countsOf(p: PipelineStatus): Counts {
  const c: Counts = new Map();
  c.set('accepted', p.accepted);
  c.set('dead_lettered', p.dead_lettered.total);
  let loaded = 0;
  for (const [n, s] of Object.entries(p.sources)) c.set(`source:${n}`, s.accepted);
  for (const [n, d] of Object.entries(p.datasets)) c.set(`dataset:${n}`, d.records + d.filtered + d.dead_lettered);
  for (const [n, t] of Object.entries(p.tables)) {
    c.set(`table:${n}`, t.loaded);
    loaded += t.loaded;
  }
  c.set('loaded', loaded);
  return c;
}

/** Keeps recent counts and answers rates over `windowMs`. */
export class ThroughputRates {
  private readonly samples: { at: number; byPipeline: Map<string, Counts> }[] = [];

  constructor(private readonly windowMs = 10_000) {}

  /** Adds the counts of a snapshot taken at `at` (ignored when not newer than the last one). */
  observe(at: number, pipelines: readonly PipelineStatus[]): void {
    const last = this.samples.at(-1);
    if (last && at <= last.at) return;
    this.samples.push({ at, byPipeline: new Map(pipelines.map((p) => [p.name, countsOf(p)])) });
    // Keep one sample older than the window, so the window is always fully covered.
    while (this.samples.length > 2 && this.samples[1]!.at <= at - this.windowMs) this.samples.shift();
  }

  /** Rates of a pipeline between the oldest kept sample and the newest (zeros until two exist). */
  rates(pipeline: string): PipelineRates {
    const out: PipelineRates = { accepted: 0, loaded: 0, dead_lettered: 0, sources: {}, datasets: {}, tables: {} };
    const first = this.samples[0];
    const last = this.samples.at(-1);
    const now = last?.byPipeline.get(pipeline);
    if (!first || !last || !now) return out;
    const before = first.byPipeline.get(pipeline);
    const seconds = (last.at - first.at) / 1000;
    for (const [key, v] of now) {
      const prev = before?.get(key);
      // A counter that went down (a table truncated by hand) restarts at 0 rather than going negative.
      const rate = seconds > 0 && prev !== undefined ? Math.max(0, v - prev) / seconds : 0;
      const rounded = Math.round(rate * 10) / 10;
      const [kind, name] = key.includes(':') ? (key.split(':', 2) as [string, string]) : [key, ''];
      if (kind === 'source') out.sources[name] = rounded;
      else if (kind === 'dataset') out.datasets[name] = rounded;
      else if (kind === 'table') out.tables[name] = rounded;
      else (out as unknown as Record<string, number>)[kind] = rounded;
    }
    return out;
  }
}

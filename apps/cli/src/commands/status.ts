/**
 * `tributary status [pipeline] [--json]`: pipelines, counts, lag and freshness from the monitor;
 * with a pipeline named, also its tables' load counts (docs/warehouse.md, Load counts).
 */
import { parseArgs } from 'node:util';
import { UsageError, type Command } from '../command';
import { monitorRequest } from '../monitor-client';

/** The fields of the monitor's pipeline status this command shows. */
interface PipelineStatus {
  name: string;
  sla: { freshness_seconds: number };
  freshness_seconds: number;
  fresh: boolean;
  received: number;
  accepted: number;
  /** Records the DLQ console replayed (not counted as received or accepted again). */
  replayed?: number;
  filtered: number;
  tables: Record<string, TableCounts>;
  dead_lettered: { total: number };
  lag: Record<'transformer' | 'loader', { pending: number | null; ack_pending: number | null }>;
  /** Set while the pipeline is paused (by an operator or its circuit breaker). */
  paused?: { summary: string } | null;
}

/** The fields of a table's counts this command shows. */
interface TableCounts {
  loaded: number;
  inserted: number;
  updated: number;
  unchanged: number;
  skipped: number;
  dead_lettered: number;
}

const lagOf = (l: { pending: number | null; ack_pending: number | null }): string =>
  l.pending === null ? '?' : String(l.pending + (l.ack_pending ?? 0));

/** Renders rows as a left-aligned text table. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

/** The `status` command: exit 1 when a pipeline is behind its freshness SLA. */
export const statusCommand: Command = {
  name: 'status',
  args: '[pipeline] [--json]',
  summary: 'pipelines with their counts, lag and freshness (from the monitor at MONITOR_URL);\nexit 1 when one is behind its freshness SLA',
  async run(args, { env, out }) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: false });
    if (positionals.length > 1) throw new UsageError(`status takes at most one pipeline, got ${positionals.join(' ')}`);
    const all = (await monitorRequest<{ pipelines: PipelineStatus[] }>(env, '/api/pipelines')).pipelines;
    const pipelines = positionals[0] ? all.filter((p) => p.name === positionals[0]) : all;
    if (positionals[0] && pipelines.length === 0)
      throw new UsageError(`unknown pipeline "${positionals[0]}" (pipelines: ${all.map((p) => p.name).join(', ')})`);
    if (values.json) out(JSON.stringify(pipelines, null, 2));
    else {
      const rows = [['PIPELINE', 'RECEIVED', 'ACCEPTED', 'LOADED', 'FILTERED', 'DEAD-LETTERED', 'REPLAYED', 'LAG T/L', 'FRESHNESS', 'SLA']];
      for (const p of pipelines)
        rows.push([
          p.name,
          String(p.received),
          String(p.accepted),
          String(Object.values(p.tables).reduce((n, t) => n + t.loaded, 0)),
          String(p.filtered),
          String(p.dead_lettered.total),
          String(p.replayed ?? 0),
          `${lagOf(p.lag.transformer)}/${lagOf(p.lag.loader)}`,
          `${p.freshness_seconds.toFixed(1)} s${p.fresh ? '' : ' (BEHIND)'}`,
          `${p.sla.freshness_seconds} s`,
        ]);
      for (const line of table(rows)) out(line);
      // A paused pipeline says so, and why (its circuit breaker, or who paused it).
      for (const p of pipelines) if (p.paused) out(`${p.name}: ${p.paused.summary}; \`tributary pipelines resume ${p.name}\` goes on`);
      if (positionals[0]) {
        const tables = [['TABLE', 'LOADED', 'INSERTED', 'UPDATED', 'UNCHANGED', 'SKIPPED', 'DEAD-LETTERED']];
        for (const [name, t] of Object.entries(pipelines[0]!.tables)) {
          tables.push([name, ...[t.loaded, t.inserted, t.updated, t.unchanged, t.skipped, t.dead_lettered].map(String)]);
        }
        out('');
        for (const line of table(tables)) out(line);
      }
    }
    return pipelines.every((p) => p.fresh) ? 0 : 1;
  },
};

/**
 * Prometheus gauges of pipeline status, computed on scrape from the same snapshot as `/api`
 * (so from durable state, never from in-memory counters).
 */
import type { Logger } from '@tributary/runtime/logger';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { StatusSnapshot, StatusSnapshots } from './status-snapshot';

/** Record kinds of `tributary_pipeline_records`. */
export const RECORD_KINDS = ['accepted', 'rejected', 'filtered', 'dead_lettered', 'loaded', 'replayed'] as const;

/** Registers the status gauges; returns the counter the fold loops feed. */
export function registerStatusMetrics(registry: Registry, snapshots: StatusSnapshots, logger: Logger): { folded: Counter<'stream'> } {
  // A failed snapshot leaves the gauges empty (and `up` at 0) instead of failing the whole scrape.
  const snapshot = (): Promise<StatusSnapshot | undefined> => snapshots.get().catch(() => undefined);
  const gauge = <L extends string>(name: string, help: string, labelNames: L[], fill: (g: Gauge<L>, s: StatusSnapshot) => void): Gauge<L> =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const s = await snapshot();
        this.reset();
        if (s) fill(this, s);
      },
    });

  new Gauge({
    name: 'tributary_monitor_status_up',
    help: '1 when the monitor could read pipeline status (PostgreSQL answered), else 0.',
    registers: [registry],
    async collect() {
      try {
        await snapshots.get();
        this.set(1);
      } catch (err) {
        logger.warn({ err }, 'cannot compute pipeline status for /metrics');
        this.set(0);
      }
    },
  });
  gauge(
    'tributary_pipeline_paused',
    'Paused pipelines (their transformers take none of their records), by cause: circuit_breaker (records failed at a high rate) or operator.',
    ['pipeline', 'cause'],
    (g, s) => {
      for (const p of s.pipelines) {
        if (p.paused === undefined) continue;
        g.set({ pipeline: p.name, cause: 'circuit_breaker' }, p.paused?.breaker ? 1 : 0);
        g.set({ pipeline: p.name, cause: 'operator' }, p.paused && !p.paused.breaker ? 1 : 0);
      }
    },
  );
  gauge(
    'tributary_pipeline_records',
    'Records per pipeline since it started, by kind (accepted, rejected, filtered, dead_lettered, loaded, replayed from the DLQ), from durable state.',
    ['pipeline', 'kind'],
    (g, s) => {
      for (const p of s.pipelines) {
        const loaded = Object.values(p.tables).reduce((n, t) => n + t.loaded, 0);
        const v = {
          accepted: p.accepted,
          rejected: p.rejected,
          filtered: p.filtered,
          dead_lettered: p.dead_lettered.total,
          loaded,
          replayed: p.replayed,
        };
        for (const kind of RECORD_KINDS) g.set({ pipeline: p.name, kind }, v[kind]);
      }
    },
  );
  gauge('tributary_pipeline_freshness_seconds', 'Newest ingest time accepted minus newest ingest time loaded.', ['pipeline'], (g, s) => {
    for (const p of s.pipelines) g.set({ pipeline: p.name }, p.freshness_seconds);
  });
  gauge(
    'tributary_pipeline_source_freshness_seconds',
    'Now minus the newest source time (Trib-Source-Time: CDC commit, configured record field, file modification time) loaded into any table of the pipeline; absent when its sources have no time of their own.',
    ['pipeline'],
    (g, s) => {
      for (const p of s.pipelines) if (p.source_freshness_seconds !== null) g.set({ pipeline: p.name }, p.source_freshness_seconds);
    },
  );
  gauge(
    'tributary_table_source_freshness_seconds',
    'Now minus the newest source time loaded into a table; absent while none was loaded.',
    ['pipeline', 'table'],
    (g, s) => {
      for (const p of s.pipelines)
        for (const [table, t] of Object.entries(p.tables))
          if (t.source_freshness_seconds !== null) g.set({ pipeline: p.name, table }, t.source_freshness_seconds);
    },
  );
  gauge(
    'tributary_source_slot_lag_bytes',
    'WAL bytes a postgres_cdc source database keeps for its replication slot, read by the monitor from that database (present while the ingest-api is down).',
    ['pipeline', 'source', 'slot'],
    (g, s) => {
      for (const p of s.pipelines)
        for (const l of p.source_slots ?? [])
          if (l.lag_bytes !== null) g.set({ pipeline: p.name, source: l.source, slot: l.slot }, l.lag_bytes);
    },
  );
  gauge(
    'tributary_source_slot_lag_seconds',
    'How long a postgres_cdc replication slot has not advanced while WAL was pending behind it (0 while it keeps up), as the monitor observed it.',
    ['pipeline', 'source', 'slot'],
    (g, s) => {
      for (const p of s.pipelines)
        for (const l of p.source_slots ?? [])
          if (l.lag_seconds !== null) g.set({ pipeline: p.name, source: l.source, slot: l.slot }, l.lag_seconds);
    },
  );
  gauge(
    'tributary_pipeline_sla_freshness_seconds',
    'The freshness SLA of the pipeline (alert when freshness exceeds it).',
    ['pipeline'],
    (g, s) => {
      for (const p of s.pipelines) g.set({ pipeline: p.name }, p.sla.freshness_seconds);
    },
  );
  gauge(
    'tributary_consumer_pending_messages',
    'Messages not yet delivered to a stage (JetStream num_pending), by pipeline and stage.',
    ['pipeline', 'stage'],
    (g, s) => {
      for (const p of s.pipelines) {
        for (const stage of ['transformer', 'loader'] as const) {
          const v = p.lag[stage].pending;
          if (v !== null) g.set({ pipeline: p.name, stage }, v);
        }
      }
    },
  );
  gauge(
    'tributary_consumer_ack_pending_messages',
    'Messages delivered to a stage and not yet acked (JetStream num_ack_pending), by pipeline and stage.',
    ['pipeline', 'stage'],
    (g, s) => {
      for (const p of s.pipelines) {
        for (const stage of ['transformer', 'loader'] as const) {
          const v = p.lag[stage].ack_pending;
          if (v !== null) g.set({ pipeline: p.name, stage }, v);
        }
      }
    },
  );
  gauge(
    'tributary_monitor_fold_pending_messages',
    'Messages the monitor has not yet folded into its counts, by stream.',
    ['stream'],
    (g, s) => {
      for (const [stream, lag] of Object.entries(s.monitorLag)) {
        if (lag.pending !== null && lag.ack_pending !== null) g.set({ stream }, lag.pending + lag.ack_pending);
      }
    },
  );
  const folded = new Counter({
    name: 'tributary_monitor_folded_messages_total',
    help: 'Messages this monitor process folded into PostgreSQL, by stream.',
    labelNames: ['stream'],
    registers: [registry],
  });
  return { folded };
}

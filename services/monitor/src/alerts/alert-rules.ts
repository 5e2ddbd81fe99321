/**
 * The alert rules, as pure functions of what the monitor knows at one moment: pipeline status,
 * counts over the rule window, service replicas and failing quality checks. Each returns the
 * conditions that hold now; the engine adds `for` durations and resolve notices. Their names,
 * severities and default thresholds come from the alert catalogue (alert-catalogue.ts), from which
 * the Prometheus rules are generated too.
 */
import type { ClusterStatus } from '../cluster/cluster-probe';
import type { PipelineStatus } from '../status/pipeline-status';
import type { ServiceView } from '../cluster/replica-registry';
import { ALERT_DEFAULTS, ALERT_RULES, ALERT_SEVERITY, type AlertName } from './alert-catalogue';
import type { AlertCondition } from './alert-condition';
import { sourceConditions } from './source-rules';

export type { AlertCondition, Severity } from './alert-condition';

/** Thresholds of the rules (from the monitor's configuration). */
export interface RuleThresholds {
  lagMessages: number;
  dlqGrowth: number;
  errorRate: number;
  windowMs: number;
  /** A CDC slot not advancing for longer than this while WAL is pending (seconds). */
  slotLagSeconds: number;
  /** A CDC slot keeping more WAL than this (bytes). */
  slotLagBytes: number;
  /** Consecutive failed runs of a pull source that raise TributarySourceFailing (default: the catalogue's). */
  sourceFailures?: number;
}

/** Growth of a pipeline's counts over the rule window. */
export interface WindowDelta {
  accepted: number;
  /** Dead-lettered at every stage, ingest included. */
  deadLettered: number;
  /** Dead-lettered by the transformer and the loader (the pipeline's own errors). */
  failed: number;
  /** Span the delta actually covers (shorter than the window just after start). */
  spanMs: number;
}

/** A quality check whose latest result failed. */
export interface FailingCheck {
  pipeline: string;
  table: string;
  check: string;
  detail: string;
}

/** A warehouse table stopped by an incompatible schema change. */
export interface BlockedTable {
  pipeline: string;
  table: string;
  /** The first problem `migrate` recorded. */
  problem: string;
}

/** Everything the rules read. */
export interface RuleInputs {
  pipelines: readonly PipelineStatus[];
  deltas: ReadonlyMap<string, WindowDelta>;
  services: readonly ServiceView[];
  /** Services expected to have at least one live replica. */
  expectedServices: readonly string[];
  /** False while the monitor has not yet listened to heartbeats for a whole timeout. */
  replicasKnown: boolean;
  failingChecks: readonly FailingCheck[];
  /** Tables stopped by an incompatible schema change (absent: not read). */
  blockedTables?: readonly BlockedTable[];
  /** The NATS cluster, when it could be probed. */
  cluster?: ClusterStatus;
}

/** The names of the rules the monitor evaluates itself, in the order it evaluates them. */
export const ALERT_NAMES: readonly AlertName[] = ALERT_RULES.filter((r) => r.monitor).map((r) => r.alert);

/** The condition that holds while the monitor cannot read pipeline status at all. */
export function statusDownCondition(reason: string): AlertCondition {
  return {
    alert: 'TributaryMonitorStatusDown',
    labels: {},
    severity: ALERT_SEVERITY.TributaryMonitorStatusDown,
    summary: `the monitor cannot compute pipeline status: ${reason}`.slice(0, 300),
    value: 0,
  };
}

const minutes = (ms: number): string => (ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`);
const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** Evaluates every rule. */
export function evaluateRules(inputs: RuleInputs, t: RuleThresholds): AlertCondition[] {
  const out: AlertCondition[] = [];
  for (const p of inputs.pipelines) {
    if (p.freshness_seconds > p.sla.freshness_seconds) {
      out.push({
        alert: 'TributaryFreshnessBreach',
        labels: { pipeline: p.name },
        severity: ALERT_SEVERITY.TributaryFreshnessBreach,
        summary: `${p.name}: warehouse data is ${round(p.freshness_seconds)} s behind ingest (SLA ${p.sla.freshness_seconds} s)`,
        value: p.freshness_seconds,
      });
    } else if (p.source_freshness_seconds !== null && p.source_freshness_seconds > p.sla.freshness_seconds) {
      // Nothing newer from the sources was loaded: a source, the ingest or the loader stopped.
      out.push({
        alert: 'TributaryFreshnessBreach',
        labels: { pipeline: p.name },
        severity: ALERT_SEVERITY.TributaryFreshnessBreach,
        summary: `${p.name}: the newest source data loaded is ${round(p.source_freshness_seconds)} s old (SLA ${p.sla.freshness_seconds} s): a source, the ingest or the loader stopped`,
        value: p.source_freshness_seconds,
      });
    }
    for (const stage of ['transformer', 'loader'] as const) {
      const l = p.lag[stage];
      // Unknown lag (NATS unreachable) is not evidence of lag; the replica rules cover outages.
      if (l.pending === null || l.ack_pending === null) continue;
      const lag = l.pending + l.ack_pending;
      if (lag > t.lagMessages) {
        out.push({
          alert: 'TributaryConsumerLag',
          labels: { pipeline: p.name, stage },
          severity: ALERT_SEVERITY.TributaryConsumerLag,
          summary: `${p.name}: ${lag} messages waiting for the ${stage} (threshold ${t.lagMessages})`,
          value: lag,
        });
      }
    }
    const d = inputs.deltas.get(p.name);
    if (d && d.deadLettered > t.dlqGrowth) {
      out.push({
        alert: 'TributaryDlqGrowth',
        labels: { pipeline: p.name },
        severity: ALERT_SEVERITY.TributaryDlqGrowth,
        summary: `${p.name}: ${d.deadLettered} record${d.deadLettered === 1 ? '' : 's'} dead-lettered in the last ${minutes(t.windowMs)} (threshold ${t.dlqGrowth})`,
        value: d.deadLettered,
      });
    }
    if (d && d.accepted > 0 && d.failed / d.accepted > t.errorRate) {
      const rate = d.failed / d.accepted;
      out.push({
        alert: 'TributaryErrorRate',
        labels: { pipeline: p.name },
        severity: ALERT_SEVERITY.TributaryErrorRate,
        summary: `${p.name}: ${round(rate * 100, 2)}% of accepted records failed in transform or load over ${minutes(t.windowMs)} (threshold ${round(t.errorRate * 100, 2)}%)`,
        value: rate,
      });
    }
  }
  for (const p of inputs.pipelines) {
    for (const d of p.drift) {
      // A drift event folded within the window: the transformer is seeing this drift now.
      if (d.event_age_seconds * 1000 > t.windowMs) continue;
      out.push({
        alert: 'TributarySchemaDrift',
        labels: { pipeline: p.name, dataset: d.dataset, field: d.field, kind: d.kind },
        severity: ALERT_SEVERITY.TributarySchemaDrift,
        summary: `${p.name}: field "${d.field}" ${d.kind === 'new' ? 'is new' : d.kind === 'missing' ? 'is missing' : `changed type (${d.expected ?? '?'} declared, ${d.seen} seen)`} in dataset ${d.dataset} from source ${d.source}: ${d.count} record(s), ${d.action.replace('_', ' ')} (on_drift: ${d.policy})`,
        value: d.count,
      });
    }
  }
  for (const p of inputs.pipelines) {
    for (const s of p.source_slots ?? []) {
      // Read from the source database, so it fires also while the ingest-api is down.
      const late = s.lag_seconds !== null && s.lag_seconds > t.slotLagSeconds;
      const big = s.lag_bytes !== null && s.lag_bytes > t.slotLagBytes;
      if (!late && !big) continue;
      out.push({
        alert: 'TributarySlotLag',
        labels: { pipeline: p.name, source: s.source, slot: s.slot },
        severity: ALERT_SEVERITY.TributarySlotLag,
        summary: `${p.name}: replication slot ${s.slot} of source ${s.source} is ${round(s.lag_seconds ?? 0)} s and ${s.lag_bytes} bytes of WAL behind (thresholds ${t.slotLagSeconds} s, ${t.slotLagBytes} bytes)`,
        value: s.lag_seconds ?? 0,
      });
    }
  }
  for (const s of inputs.services) {
    for (const r of s.replicas) {
      if (r.state !== 'missing') continue;
      out.push({
        alert: 'TributaryReplicaMissing',
        labels: { service: s.service, instance: r.instance },
        severity: ALERT_SEVERITY.TributaryReplicaMissing,
        summary: `${s.service} replica ${r.instance} sent no heartbeat for ${Math.round(r.age_seconds)} s`,
        value: r.age_seconds,
      });
    }
    if (s.live === 0 && inputs.replicasKnown && inputs.expectedServices.includes(s.service)) {
      out.push({
        alert: 'TributaryServiceDown',
        labels: { service: s.service },
        severity: ALERT_SEVERITY.TributaryServiceDown,
        summary: `${s.service} has no live replica`,
        value: 0,
      });
    }
  }
  for (const c of inputs.failingChecks) {
    out.push({
      alert: 'TributaryQualityCheckFailed',
      labels: { pipeline: c.pipeline, table: c.table, check: c.check },
      severity: ALERT_SEVERITY.TributaryQualityCheckFailed,
      summary: `${c.pipeline}: quality check ${c.check} on ${c.table} failed${c.detail ? `: ${c.detail}` : ''}`,
      value: 1,
    });
  }
  for (const p of inputs.pipelines) {
    if (!p.paused?.breaker) continue;
    out.push({
      alert: 'TributaryCircuitBreakerOpen',
      labels: { pipeline: p.name },
      severity: ALERT_SEVERITY.TributaryCircuitBreakerOpen,
      summary: `${p.name}: ${p.paused.summary}`.slice(0, 300),
      value: 1,
    });
  }
  for (const b of inputs.blockedTables ?? []) {
    out.push({
      alert: 'TributaryTableBlocked',
      labels: { pipeline: b.pipeline, table: b.table },
      severity: ALERT_SEVERITY.TributaryTableBlocked,
      summary:
        `${b.pipeline}: table ${b.table} is stopped by an incompatible schema change, its records are dead-lettered${b.problem ? `: ${b.problem}` : ''}`.slice(
          0,
          300,
        ),
      value: 1,
    });
  }
  out.push(...sourceConditions(inputs.pipelines, t.sourceFailures ?? ALERT_DEFAULTS.sourceFailures));
  if (inputs.cluster?.degraded) {
    out.push({
      alert: 'TributaryNatsClusterDegraded',
      labels: {},
      severity: ALERT_SEVERITY.TributaryNatsClusterDegraded,
      summary: clusterSummary(inputs.cluster),
      value: 1,
    });
  }
  return out;
}

/** What is wrong with a degraded cluster, in words that stay the same while the fault does. */
function clusterSummary(c: ClusterStatus): string {
  const down = c.servers.filter((s) => !s.reachable).map((s) => s.address);
  const streams = c.streams.filter((s) => s.error || (s.replicas > 1 && !s.leader) || s.offline + s.lagging > 0).map((s) => s.stream);
  const parts = [
    down.length ? `server${down.length === 1 ? '' : 's'} ${down.join(', ')} down` : '',
    streams.length ? `replicas offline, lagging or leaderless in ${streams.join(', ')}` : '',
  ].filter(Boolean);
  return `NATS cluster degraded: ${parts.length ? parts.join('; ') : c.reasons[0]}`.slice(0, 300);
}

/** A stable key of an alert instance: its name and sorted labels. */
export function fingerprint(c: { alert: string; labels: Record<string, string> }): string {
  const labels = Object.keys(c.labels)
    .sort()
    .map((k) => `${k}=${c.labels[k]}`)
    .join(',');
  return `${c.alert}{${labels}}`;
}

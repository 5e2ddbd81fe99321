/**
 * Runs the alert rules every `intervalMs`: reads the status snapshot, replicas and failing checks,
 * keeps the counts of the rule window, updates the state machine, and for each transition
 * notifies the sinks, records it in `tributary.alert_events` and publishes it on
 * `trib.events.<pipeline>.alert` (TRIB_EVENTS). With several monitor replicas, every one
 * evaluates (each dashboard shows alerts) but only the holder of a KV lease notifies and records.
 *
 * Every firing notice gets its resolve, across restarts and handovers: `alert_events` is the
 * record of what was notified (a write that fails while PostgreSQL is down is retried with the
 * next one), and a replica that becomes the notifier (at start, or taking over) first compares it
 * with what fires now: an alert recorded as firing that no longer holds is resolved, one that
 * fires but was never notified is notified.
 *
 * Longer than 300 lines because notifying every alert exactly once needs the rule window, the state
 * machine and the record of notices together.
 */
import { H, makeHeaders, subjects } from '@tributary/contract/wire';
import { PeriodicTask } from '@tributary/runtime/periodic-task';
import { type KvLease, type Publisher } from '@tributary/runtime/nats';
import { type Logger } from '@tributary/runtime/logger';
import type { Pool } from 'pg';
import type { Gauge } from 'prom-client';
import type { ClusterStatus } from '../cluster/cluster-probe';
import type { ReplicaRegistry } from '../cluster/replica-registry';
import type { StatusSnapshots } from '../status/status-snapshot';
import { AlertEngine, type ActiveAlert, type AlertTransition } from './alert-engine';
import { monitorForMs } from './alert-catalogue';
import type { AlertNotifier } from './alert-notifier';
import {
  evaluateRules,
  fingerprint,
  statusDownCondition,
  type AlertCondition,
  type BlockedTable,
  type FailingCheck,
  type RuleThresholds,
  type Severity,
  type WindowDelta,
} from './alert-rules';
import { queryBlockedTables } from './blocked-tables';
import { queryFailingChecks } from './quality-checks';

/** Inputs of the alert loop. */
export interface AlertMonitorOptions {
  snapshots: StatusSnapshots;
  replicas: ReplicaRegistry;
  expectedServices: readonly string[];
  pool: Pool;
  notifier: AlertNotifier;
  thresholds: RuleThresholds;
  /** MONITOR_ALERT_FOR: the `for` of the rules whose catalogue `for` is the default (`monitorForMs`). */
  forMs: number;
  intervalMs: number;
  logger: Logger;
  /** Whether `tributary.alert_events` exists. */
  recordEvents: boolean;
  /** Only the holder notifies; absent means this replica always does. */
  lease?: KvLease;
  /** Publishes alert events to TRIB_EVENTS when given. */
  publisher?: () => Publisher | undefined;
  /** Gauge of alerts by name and state. */
  gauge?: Gauge<'alertname' | 'state'>;
  /** The NATS cluster's state, for the cluster rule. */
  cluster?: () => Promise<ClusterStatus>;
}

type Sample = { at: number; counts: Map<string, { accepted: number; deadLettered: number; failed: number }> };

/** Transitions kept for recording while PostgreSQL refuses them; beyond this the oldest go. */
const MAX_UNRECORDED = 1_000;

/** The last recorded transition of every alert whose last word was `firing`. */
const OPEN_ALERTS_SQL = `
  SELECT alert, labels, severity, summary, value, starts_at FROM (
    SELECT DISTINCT ON (alert, labels) alert, labels, severity, summary, value, starts_at, status
      FROM tributary.alert_events ORDER BY alert, labels, at DESC, id DESC) last
   WHERE status = 'firing'`;

/** The alert loop. */
export class AlertMonitor {
  private readonly engine: AlertEngine;
  private readonly samples: Sample[] = [];
  private readonly task: PeriodicTask;
  private checksAt = 0;
  private checks: FailingCheck[] = [];
  private blocked: BlockedTable[] = [];
  private firing = new Map<string, AlertTransition>();
  /** The last conditions computed from a status snapshot. */
  private lastConditions: AlertCondition[] = [];
  /** Transitions notified but not yet in `alert_events` (PostgreSQL was unavailable). */
  private unrecorded: AlertTransition[] = [];
  /** Set while this replica has not compared `alert_events` with what fires since it became the notifier. */
  private reconcilePending = true;

  constructor(private readonly opts: AlertMonitorOptions) {
    this.engine = new AlertEngine((alert) => monitorForMs(alert, opts.forMs));
    this.task = new PeriodicTask({
      intervalMs: opts.intervalMs,
      runAtStart: true,
      run: () => this.evaluate(),
      onError: (err) => opts.logger.warn({ err }, 'alert evaluation failed'),
    });
  }

  /** Starts evaluating: at once, then every interval after the last evaluation ended. */
  start(): void {
    this.task.start();
  }

  /** Quality checks failing at the last read (for `/metrics`). */
  failingChecks(): readonly FailingCheck[] {
    return this.checks;
  }

  /** Alerts pending and firing now. */
  list(): ActiveAlert[] {
    return this.engine.list();
  }

  /** One evaluation (exposed for tests). */
  async evaluate(now = Date.now()): Promise<AlertTransition[]> {
    let snapshot;
    try {
      snapshot = await this.opts.snapshots.get();
    } catch (err) {
      // Without status nothing can be judged: keep what held at the last good evaluation (so
      // nothing resolves falsely) and say that status is down.
      return this.apply([...this.lastConditions, statusDownCondition((err as Error).message)], now);
    }
    const deltas = this.window(now, snapshot.pipelines);
    if (now - this.checksAt > Math.max(this.opts.intervalMs, 10_000)) {
      this.checksAt = now;
      this.checks = await queryFailingChecks(this.opts.pool).catch((err: unknown) => {
        this.opts.logger.debug({ err }, 'cannot read quality checks');
        return this.checks;
      });
      this.blocked = await queryBlockedTables(this.opts.pool).catch((err: unknown) => {
        this.opts.logger.debug({ err }, 'cannot read table status');
        return this.blocked;
      });
    }
    const cluster = await this.opts.cluster?.().catch((err: unknown) => {
      this.opts.logger.debug({ err }, 'cannot probe the NATS cluster');
      return undefined;
    });
    const conditions = evaluateRules(
      {
        cluster,
        pipelines: snapshot.pipelines,
        deltas,
        services: this.opts.replicas.services(now),
        expectedServices: this.opts.expectedServices,
        replicasKnown: this.opts.replicas.warm(now),
        failingChecks: this.checks,
        blockedTables: this.blocked,
      },
      this.opts.thresholds,
    );
    this.lastConditions = conditions;
    return this.apply(conditions, now);
  }

  /** Updates the state machine, the gauge and the firing set, then notifies and records. */
  private async apply(conditions: AlertCondition[], now: number): Promise<AlertTransition[]> {
    const transitions = this.engine.update(conditions, now);
    for (const t of transitions) {
      if (t.status === 'firing') this.firing.set(t.alert.fingerprint, t);
      else this.firing.delete(t.alert.fingerprint);
    }
    // Keep the re-sent copies current (value, wording) for Alertmanager.
    for (const a of this.engine.list()) {
      const f = this.firing.get(a.fingerprint);
      if (f) this.firing.set(a.fingerprint, { ...f, alert: { ...a }, at: now });
    }
    this.updateGauge();
    const leader = this.opts.lease ? await this.holdLease(now) : true;
    if (!leader) {
      // Whoever notifies meanwhile may differ from what this replica saw: compare again on taking over.
      this.reconcilePending = true;
      return transitions;
    }
    const notices = this.reconcilePending ? await this.reconcile(transitions, now) : transitions;
    if (notices.length > 0) {
      this.opts.notifier.notify(notices);
      await this.record(notices);
    }
    this.opts.notifier.refresh([...this.firing.values()]);
    return transitions;
  }

  /**
   * This evaluation's transitions, made to agree with what `alert_events` says was notified as
   * firing and never resolved: an alert recorded open that does not fire now is resolved, one that
   * fires now but is not recorded open is notified, a firing already recorded is not repeated.
   * Stays pending (the transitions go out as they are) while the table cannot be read or earlier
   * transitions are unrecorded.
   */
  private async reconcile(transitions: AlertTransition[], now: number): Promise<AlertTransition[]> {
    if (!this.opts.recordEvents) {
      this.reconcilePending = false;
      return transitions;
    }
    if (this.unrecorded.length > 0 && !(await this.record([]))) return transitions;
    let rows: {
      alert: string;
      labels: Record<string, string>;
      severity: Severity;
      summary: string;
      value: number | null;
      starts_at: Date;
    }[];
    try {
      rows = (await this.opts.pool.query(OPEN_ALERTS_SQL)).rows;
    } catch (err) {
      this.opts.logger.debug({ err }, 'cannot read alert history yet');
      return transitions;
    }
    this.reconcilePending = false;
    const open = new Set(rows.map((r) => fingerprint(r)));
    const out: AlertTransition[] = [];
    for (const r of rows) {
      const fp = fingerprint(r);
      if (this.firing.has(fp)) continue;
      const since = r.starts_at.getTime();
      const alert: ActiveAlert = {
        fingerprint: fp,
        ...r,
        value: r.value ?? Number.NaN,
        state: 'firing',
        activeSince: since,
        firedAt: since,
      };
      out.push({ status: 'resolved', alert, at: now });
    }
    for (const [fp, t] of this.firing) if (!open.has(fp)) out.push({ ...t, status: 'firing', at: now });
    if (out.length > 0)
      this.opts.logger.info({ notices: out.map((t) => `${t.status} ${t.alert.fingerprint}`) }, 'alerts reconciled with their history');
    return out;
  }

  private async holdLease(now: number): Promise<boolean> {
    const lease = this.opts.lease!;
    return lease.isHeld ? (await lease.renew(now)) || lease.tryAcquire(now) : lease.tryAcquire(now);
  }

  private updateGauge(): void {
    const g = this.opts.gauge;
    if (!g) return;
    g.reset();
    for (const a of this.engine.list()) g.inc({ alertname: a.alert, state: a.state });
  }

  /** Adds a sample and returns each pipeline's growth since the oldest sample inside the window. */
  private window(
    now: number,
    pipelines: { name: string; accepted: number; dead_lettered: { total: number; transform: number; load: number } }[],
  ) {
    this.samples.push({
      at: now,
      counts: new Map(
        pipelines.map((p) => [
          p.name,
          { accepted: p.accepted, deadLettered: p.dead_lettered.total, failed: p.dead_lettered.transform + p.dead_lettered.load },
        ]),
      ),
    });
    while (this.samples.length > 1 && this.samples[0]!.at < now - this.opts.thresholds.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const deltas = new Map<string, WindowDelta>();
    for (const p of pipelines) {
      const a = first.counts.get(p.name);
      const b = this.samples.at(-1)!.counts.get(p.name)!;
      if (!a) continue;
      deltas.set(p.name, {
        accepted: b.accepted - a.accepted,
        deadLettered: b.deadLettered - a.deadLettered,
        failed: b.failed - a.failed,
        spanMs: now - first.at,
      });
    }
    return deltas;
  }

  /** Records transitions (and those that failed before) in `alert_events`, then publishes them; false when PostgreSQL refused. */
  private async record(fresh: AlertTransition[]): Promise<boolean> {
    let recorded = true;
    if (this.opts.recordEvents) {
      const ts = [...this.unrecorded, ...fresh];
      recorded = await this.opts.pool
        .query(
          `INSERT INTO tributary.alert_events (alert, status, severity, labels, summary, value, starts_at, at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::float8[], $7::timestamptz[], $8::timestamptz[])`,
          [
            ts.map((t) => t.alert.alert),
            ts.map((t) => t.status),
            ts.map((t) => t.alert.severity),
            ts.map((t) => JSON.stringify(t.alert.labels)),
            ts.map((t) => t.alert.summary),
            ts.map((t) => (Number.isFinite(t.alert.value) ? t.alert.value : null)),
            ts.map((t) => new Date(t.alert.firedAt ?? t.alert.activeSince).toISOString()),
            ts.map((t) => new Date(t.at).toISOString()),
          ],
        )
        .then(
          () => true,
          (err: unknown) => {
            this.opts.logger.warn({ err, pending: ts.length }, 'cannot record alert events; retrying with the next ones');
            return false;
          },
        );
      this.unrecorded = recorded ? [] : ts.slice(-MAX_UNRECORDED);
    }
    const pub = this.opts.publisher?.();
    if (!pub) return recorded;
    for (const t of fresh) {
      const pipeline = t.alert.labels.pipeline;
      if (!pipeline) continue;
      const body = { status: t.status, alert: t.alert.alert, labels: t.alert.labels, summary: t.alert.summary, value: t.alert.value };
      pub
        .publish(subjects.events(pipeline, 'alert'), Buffer.from(JSON.stringify(body)), {
          msgId: `alert:${t.alert.fingerprint}:${t.alert.activeSince}:${t.status}`,
          headers: makeHeaders({ [H.pipeline]: pipeline, [H.contentType]: 'application/json' }),
        })
        .catch((err: unknown) => this.opts.logger.warn({ err }, 'cannot publish alert event'));
    }
    return recorded;
  }

  /** Stops evaluating (the evaluation in hand finishes). */
  async stop(): Promise<void> {
    await this.task.stop();
  }
}

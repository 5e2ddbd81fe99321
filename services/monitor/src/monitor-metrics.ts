/**
 * The monitor's own gauges and counters beyond pipeline status: service replicas from heartbeats,
 * alerts by state, alert notifications, dashboard clients and DLQ actions.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FailingCheck } from './alerts/alert-rules';
import type { ReplicaRegistry, ReplicaState } from './cluster/replica-registry';

const STATES: ReplicaState[] = ['live', 'not_ready', 'missing', 'stopped'];

/** The metrics, registered in `registry`. */
export interface MonitorMetrics {
  alerts: Gauge<'alertname' | 'state'>;
  notifications: Counter<'sink' | 'result'>;
  dlqActions: Counter<'action'>;
}

/** Registers the metrics; the replica and client gauges are computed on scrape. */
export function registerMonitorMetrics(
  registry: Registry,
  replicas: ReplicaRegistry,
  clients: () => number,
  failingChecks: () => readonly FailingCheck[],
): MonitorMetrics {
  new Gauge({
    name: 'tributary_quality_check_failing',
    help: 'Data-quality checks whose latest result failed (1 per check), by pipeline, table and check.',
    labelNames: ['pipeline', 'table', 'check'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of failingChecks()) this.set({ pipeline: c.pipeline, table: c.table, check: c.check }, 1);
    },
  });
  new Gauge({
    name: 'tributary_service_replicas',
    help: 'Replicas of each service by heartbeat state (live, not_ready, missing, stopped).',
    labelNames: ['service', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of replicas.services()) {
        for (const state of STATES) this.set({ service: s.service, state }, s.replicas.filter((r) => r.state === state).length);
      }
    },
  });
  new Gauge({
    name: 'tributary_dashboard_clients',
    help: 'Dashboards connected to the live feed (server-sent events).',
    registers: [registry],
    collect() {
      this.set(clients());
    },
  });
  return {
    alerts: new Gauge({
      name: 'tributary_alerts',
      help: 'Alerts evaluated by the monitor, by alert name and state (pending, firing).',
      labelNames: ['alertname', 'state'],
      registers: [registry],
    }),
    notifications: new Counter({
      name: 'tributary_alert_notifications_total',
      help: 'Alert notifications by sink (webhook, email, alertmanager) and result (sent, failed).',
      labelNames: ['sink', 'result'],
      registers: [registry],
    }),
    dlqActions: new Counter({
      name: 'tributary_dlq_actions_total',
      help: 'Dead letters replayed or discarded from the dashboard or API, by action.',
      labelNames: ['action'],
      registers: [registry],
    }),
  };
}

/**
 * Alerts to Prometheus Alertmanager's API (`POST /api/v2/alerts`), which then routes, groups,
 * silences and delivers them. Alertmanager resolves an alert that is not re-sent within its
 * `resolve_timeout`, so firing alerts are re-sent every `resendMs`, each time with an `endsAt`
 * a few resend periods ahead; a resolve sends `endsAt` = now.
 */
import type { AlertTransition } from '../alert-engine';
import type { AlertSink } from './alert-sink';
import { postJson } from './post-json';

/** One alert in Alertmanager's v2 API shape. */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL: string;
}

/** The API body for transitions. */
export function alertmanagerBody(ts: AlertTransition[], publicUrl: string, resendMs: number): AlertmanagerAlert[] {
  return ts.map((t) => ({
    labels: { alertname: t.alert.alert, severity: t.alert.severity, ...t.alert.labels },
    annotations: { summary: t.alert.summary, value: String(t.alert.value) },
    startsAt: new Date(t.alert.firedAt ?? t.alert.activeSince).toISOString(),
    endsAt: new Date(t.status === 'resolved' ? t.at : t.at + 4 * resendMs).toISOString(),
    generatorURL: `${publicUrl.replace(/\/$/, '')}/alerts`,
  }));
}

/** An Alertmanager sink. */
export function alertmanagerSink(baseUrl: string, publicUrl: string, resendMs: number): AlertSink {
  const url = `${baseUrl.replace(/\/$/, '')}/api/v2/alerts`;
  let lastRefresh = 0;
  return {
    name: 'alertmanager',
    target: new URL(url).host,
    send: (t) => postJson(url, alertmanagerBody([t], publicUrl, resendMs)),
    refresh: async (firing) => {
      if (firing.length === 0 || Date.now() - lastRefresh < resendMs) return;
      lastRefresh = Date.now();
      await postJson(url, alertmanagerBody(firing, publicUrl, resendMs));
    },
  };
}

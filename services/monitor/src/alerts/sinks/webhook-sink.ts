/**
 * Alert notifications to webhooks in Slack's incoming-webhook format (`text` plus a coloured
 * attachment), which Slack, Mattermost, Rocket.Chat and most chat tools accept. The same body
 * carries a `tributary` object with the alert as data, for receivers that automate on it.
 */
import type { AlertTransition } from '../alert-engine';
import type { AlertSink } from './alert-sink';
import { postJson } from './post-json';

/** The JSON body sent for one transition. */
export function webhookBody(t: AlertTransition, publicUrl: string): Record<string, unknown> {
  const firing = t.status === 'firing';
  const labels = Object.entries(t.alert.labels).map(([k, v]) => `${k}=${v}`);
  return {
    text: `${firing ? ':red_circle: FIRING' : ':large_green_circle: RESOLVED'} ${t.alert.alert}: ${t.alert.summary}`,
    attachments: [
      {
        color: firing ? (t.alert.severity === 'critical' ? '#d1242f' : '#bf8700') : '#1a7f37',
        title: `${t.alert.alert} (${labels.join(', ')})`,
        title_link: `${publicUrl.replace(/\/$/, '')}/alerts`,
        text: t.alert.summary,
        fields: [
          { title: 'severity', value: t.alert.severity, short: true },
          ...Object.entries(t.alert.labels).map(([k, v]) => ({ title: k, value: v, short: true })),
        ],
        ts: Math.floor(t.at / 1000),
      },
    ],
    tributary: {
      status: t.status,
      alert: t.alert.alert,
      labels: t.alert.labels,
      severity: t.alert.severity,
      summary: t.alert.summary,
      value: t.alert.value,
      starts_at: new Date(t.alert.firedAt ?? t.alert.activeSince).toISOString(),
      ...(firing ? {} : { ends_at: new Date(t.at).toISOString() }),
    },
  };
}

/** A webhook sink posting to one URL. */
export function webhookSink(url: string, publicUrl: string): AlertSink {
  return {
    name: 'webhook',
    target: new URL(url).host,
    send: (t) => postJson(url, webhookBody(t, publicUrl)),
  };
}

/**
 * The alert sinks the configuration names: each webhook, SMTP email, Alertmanager.
 */
import type { AlertSink } from './sinks/alert-sink';
import { alertmanagerSink } from './sinks/alertmanager-sink';
import { emailSink } from './sinks/email-sink';
import { webhookSink } from './sinks/webhook-sink';

/** The settings the sinks are made from (the monitor's config; names as in docs/configuration.md). */
export interface AlertSinkConfig {
  MONITOR_ALERT_WEBHOOKS: string[];
  MONITOR_PUBLIC_URL: string;
  MONITOR_ALERT_SMTP_URL?: string;
  MONITOR_ALERT_EMAIL_FROM: string;
  MONITOR_ALERT_EMAIL_TO: string[];
  MONITOR_ALERTMANAGER_URL?: string;
  MONITOR_ALERTMANAGER_RESEND: number;
}

/** Builds the configured sinks (none configured: alerts show on the dashboard and /metrics only). */
export function createSinks(config: AlertSinkConfig): AlertSink[] {
  const sinks: AlertSink[] = config.MONITOR_ALERT_WEBHOOKS.map((url) => webhookSink(url, config.MONITOR_PUBLIC_URL));
  if (config.MONITOR_ALERT_SMTP_URL && config.MONITOR_ALERT_EMAIL_TO.length > 0) {
    sinks.push(
      emailSink(config.MONITOR_ALERT_SMTP_URL, config.MONITOR_ALERT_EMAIL_FROM, config.MONITOR_ALERT_EMAIL_TO, config.MONITOR_PUBLIC_URL),
    );
  }
  if (config.MONITOR_ALERTMANAGER_URL) {
    sinks.push(alertmanagerSink(config.MONITOR_ALERTMANAGER_URL, config.MONITOR_PUBLIC_URL, config.MONITOR_ALERTMANAGER_RESEND));
  }
  return sinks;
}

/**
 * The shape every alert notification sink has: a name for metrics and logs, and `send`, which
 * resolves once the receiver accepted the notification and rejects otherwise (the notifier retries).
 */
import type { AlertTransition } from '../alert-engine';

/** A destination of alert notifications. */
export interface AlertSink {
  /** `webhook`, `email`, `alertmanager`. */
  name: string;
  /** Where it sends (host or address), for logs; never credentials. */
  target: string;
  send(t: AlertTransition): Promise<void>;
  /** Called every evaluation with every firing alert (Alertmanager needs them re-sent). */
  refresh?(firing: AlertTransition[]): Promise<void>;
  close?(): void;
}

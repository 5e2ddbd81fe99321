/**
 * The alert state machine, as Prometheus runs it: a condition that starts holding makes its alert
 * `pending`; held for its rule's `for` duration it becomes `firing` and is notified; when it stops
 * holding a firing alert is `resolved` and notified again, a pending one is dropped silently.
 * Pure apart from the clock it is given, so transitions are unit-tested without waiting.
 */
import { fingerprint, type AlertCondition } from './alert-rules';
import type { ActiveAlert } from '@tributary/contract/monitor-api';
export type { ActiveAlert } from '@tributary/contract/monitor-api';

/** A notification-worthy change. */
export interface AlertTransition {
  status: 'firing' | 'resolved';
  alert: ActiveAlert;
  /** Epoch ms of the change. */
  at: number;
}

/** Tracks alerts across evaluations. */
export class AlertEngine {
  private readonly active = new Map<string, ActiveAlert>();

  private readonly forMs: (alert: string) => number;

  /** `forMs`: how long a condition holds before its alert fires, one for all or per alert name (`monitorForMs`). */
  constructor(forMs: number | ((alert: string) => number)) {
    this.forMs = typeof forMs === 'number' ? () => forMs : forMs;
  }

  /** Applies one evaluation's conditions; returns the alerts that fired or resolved now. */
  update(conditions: readonly AlertCondition[], now: number): AlertTransition[] {
    const out: AlertTransition[] = [];
    const seen = new Set<string>();
    for (const c of conditions) {
      const fp = fingerprint(c);
      if (seen.has(fp)) continue;
      seen.add(fp);
      let a = this.active.get(fp);
      if (!a) {
        a = { fingerprint: fp, ...c, state: 'pending', activeSince: now };
        this.active.set(fp, a);
      } else {
        // The latest value and wording; the identity (name, labels) is the fingerprint.
        a.summary = c.summary;
        a.value = c.value;
        a.severity = c.severity;
      }
      if (a.state === 'pending' && now - a.activeSince >= this.forMs(a.alert)) {
        a.state = 'firing';
        a.firedAt = now;
        out.push({ status: 'firing', alert: { ...a }, at: now });
      }
    }
    for (const [fp, a] of this.active) {
      if (seen.has(fp)) continue;
      this.active.delete(fp);
      if (a.state === 'firing') out.push({ status: 'resolved', alert: { ...a }, at: now });
    }
    return out;
  }

  /** Alerts pending or firing now, firing first, then by name. */
  list(): ActiveAlert[] {
    return [...this.active.values()].sort(
      (a, b) => (a.state === b.state ? 0 : a.state === 'firing' ? -1 : 1) || a.fingerprint.localeCompare(b.fingerprint),
    );
  }
}

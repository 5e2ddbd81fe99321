/**
 * Delivers alert transitions to every sink: one queue per sink, so a slow or failing receiver
 * delays only itself and each receiver gets a firing before its resolve. A failed delivery is
 * retried with backoff, then logged and counted (`tributary_alert_notifications_total`).
 */
import type { Logger } from '@tributary/runtime/logger';
import type { Counter } from 'prom-client';
import type { AlertTransition } from './alert-engine';
import type { AlertSink } from './sinks/alert-sink';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends transitions to sinks. */
export class AlertNotifier {
  private readonly queues = new Map<AlertSink, Promise<void>>();
  private closed = false;

  constructor(
    private readonly sinks: readonly AlertSink[],
    private readonly logger: Logger,
    private readonly counter?: Counter<'sink' | 'result'>,
    private readonly backoffMs: readonly number[] = [500, 2_000, 5_000],
  ) {}

  /** Queues the transitions for every sink; returns at once. */
  notify(ts: readonly AlertTransition[]): void {
    for (const sink of this.sinks) {
      for (const t of ts) {
        const prev = this.queues.get(sink) ?? Promise.resolve();
        this.queues.set(
          sink,
          prev.then(() => this.deliver(sink, t)),
        );
      }
    }
  }

  /** Gives sinks that want it the list of firing alerts (Alertmanager re-sends). */
  refresh(firing: readonly AlertTransition[]): void {
    for (const sink of this.sinks) {
      if (!sink.refresh) continue;
      const prev = this.queues.get(sink) ?? Promise.resolve();
      this.queues.set(
        sink,
        prev.then(() =>
          sink.refresh!([...firing]).catch((err: unknown) => this.logger.warn({ err, sink: sink.name }, 'alert refresh failed')),
        ),
      );
    }
  }

  private async deliver(sink: AlertSink, t: AlertTransition): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await sink.send(t);
        this.counter?.inc({ sink: sink.name, result: 'sent' });
        this.logger.info({ sink: sink.name, target: sink.target, alert: t.alert.fingerprint, status: t.status }, 'alert notified');
        return;
      } catch (err) {
        if (this.closed || attempt >= this.backoffMs.length) {
          this.counter?.inc({ sink: sink.name, result: 'failed' });
          this.logger.error({ err, sink: sink.name, target: sink.target, alert: t.alert.fingerprint }, 'alert notification failed');
          return;
        }
        await sleep(this.backoffMs[attempt]!);
      }
    }
  }

  /** Waits for queued deliveries (retries cut short), then closes the sinks. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.queues.values());
    for (const s of this.sinks) s.close?.();
  }
}

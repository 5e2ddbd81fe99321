import { createLogger } from '@tributary/runtime/logger';
import type { Pool } from 'pg';
import type { PipelineStatus } from '../status/pipeline-status';
import { ReplicaRegistry } from '../cluster/replica-registry';
import type { StatusSnapshot, StatusSnapshots } from '../status/status-snapshot';
import type { AlertTransition } from './alert-engine';
import { AlertMonitor } from './alert-monitor';
import { AlertNotifier } from './alert-notifier';

const logger = createLogger('t', 'silent');
const breach = {
  name: 'traffic',
  sla: { freshness_seconds: 2 },
  freshness_seconds: 10,
  accepted: 0,
  dead_lettered: { ingest: 0, transform: 0, load: 0, total: 0 },
  lag: { transformer: { pending: 0, ack_pending: 0, redelivered: 0 }, loader: { pending: 0, ack_pending: 0, redelivered: 0 } },
  drift: [],
} as unknown as PipelineStatus;

describe('AlertMonitor', () => {
  it('raises a status-down alert after its catalogue `for` while status cannot be read, without resolving what held before, and notifies each change once', async () => {
    let down = false;
    const snapshots = {
      get: async (): Promise<StatusSnapshot> => {
        if (down) throw new Error('PostgreSQL is unreachable');
        return { takenAt: 0, pipelines: [breach], monitorLag: {} as StatusSnapshot['monitorLag'] };
      },
    } as unknown as StatusSnapshots;
    const sent: AlertTransition[] = [];
    const notifier = new AlertNotifier([{ name: 'test', target: 'memory', send: async (t) => void sent.push(t) }], logger);
    const m = new AlertMonitor({
      snapshots,
      replicas: new ReplicaRegistry({ timeoutMs: 1_000, forgetMs: 10_000, expected: [], logger }),
      expectedServices: [],
      pool: { query: async () => ({ rows: [] }) } as unknown as Pool,
      notifier,
      thresholds: { lagMessages: 10, dlqGrowth: 10, errorRate: 0.5, windowMs: 60_000, slotLagSeconds: 300, slotLagBytes: 1e9 },
      forMs: 0,
      intervalMs: 1_000,
      logger,
      recordEvents: false,
    });
    expect((await m.evaluate(1_000)).map((t) => `${t.status} ${t.alert.alert}`)).toEqual(['firing TributaryFreshnessBreach']);
    down = true;
    // MONITOR_ALERT_FOR (forMs) is 0, but TributaryMonitorStatusDown has its own `for` in the catalogue: 5m.
    expect(await m.evaluate(2_000)).toEqual([]);
    expect(m.list().find((a) => a.alert === 'TributaryMonitorStatusDown')?.state).toBe('pending');
    expect(await m.evaluate(2_000 + 299_999)).toEqual([]);
    expect((await m.evaluate(2_000 + 300_000)).map((t) => `${t.status} ${t.alert.alert}`)).toEqual(['firing TributaryMonitorStatusDown']);
    expect(
      m
        .list()
        .map((a) => a.alert)
        .sort(),
    ).toEqual(['TributaryFreshnessBreach', 'TributaryMonitorStatusDown']);
    down = false;
    expect((await m.evaluate(303_000)).map((t) => `${t.status} ${t.alert.alert}`)).toEqual(['resolved TributaryMonitorStatusDown']);
    await notifier.close();
    expect(sent.map((t) => `${t.status} ${t.alert.alert}`)).toEqual([
      'firing TributaryFreshnessBreach',
      'firing TributaryMonitorStatusDown',
      'resolved TributaryMonitorStatusDown',
    ]);
  });
});

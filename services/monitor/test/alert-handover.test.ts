/**
 * Alert notices across a monitor restart, against a real PostgreSQL holding `alert_events`: a
 * monitor SIGKILLed while an alert fires left its firing notice without a resolve (the new
 * process started with an empty state machine, so the receivers kept the alert open forever;
 * found by the chaos suite). The successor now compares the recorded history with what fires and
 * resolves what no longer holds, notifies what fires but was never notified, and repeats nothing.
 */
import { BOOKKEEPING_DDL } from '@tributary/warehouse/bookkeeping';
import { createLogger } from '@tributary/runtime/logger';
import { PostgresServer, stopAll } from '@tributary/testkit';
import { Pool } from 'pg';
import type { AlertTransition } from '../src/alerts/alert-engine';
import { AlertMonitor } from '../src/alerts/alert-monitor';
import { AlertNotifier } from '../src/alerts/alert-notifier';
import type { PipelineStatus } from '../src/status/pipeline-status';
import { ReplicaRegistry } from '../src/cluster/replica-registry';
import type { StatusSnapshot, StatusSnapshots } from '../src/status/status-snapshot';

afterAll(stopAll);

const logger = createLogger('alert-handover-test', 'silent');

/** A pipeline whose freshness is `seconds` against a 2 s SLA. */
const pipeline = (name: string, seconds: number) =>
  ({
    name,
    sla: { freshness_seconds: 2 },
    freshness_seconds: seconds,
    accepted: 0,
    dead_lettered: { ingest: 0, transform: 0, load: 0, total: 0 },
    lag: { transformer: { pending: 0, ack_pending: 0, redelivered: 0 }, loader: { pending: 0, ack_pending: 0, redelivered: 0 } },
    drift: [],
  }) as unknown as PipelineStatus;

/** One monitor process: its alert loop, what it notified, and the pipelines it sees. */
function monitor(pool: Pool, view: { pipelines: PipelineStatus[] }) {
  const sent: string[] = [];
  const notifier = new AlertNotifier(
    [{ name: 'test', target: 'memory', send: async (t: AlertTransition) => void sent.push(`${t.status} ${t.alert.fingerprint}`) }],
    logger,
  );
  const snapshots = {
    get: async (): Promise<StatusSnapshot> => ({ takenAt: 0, pipelines: view.pipelines, monitorLag: {} }) as never,
  } as StatusSnapshots;
  const loop = new AlertMonitor({
    snapshots,
    replicas: new ReplicaRegistry({ timeoutMs: 1_000, forgetMs: 10_000, expected: [], logger }),
    expectedServices: [],
    pool,
    notifier,
    thresholds: { lagMessages: 10, dlqGrowth: 10, errorRate: 0.5, windowMs: 60_000 },
    forMs: 0,
    intervalMs: 1_000,
    logger,
    recordEvents: true,
  });
  return { loop, sent, notifier };
}

it('resolves after a restart what the dead monitor left firing, and notifies what it never did', async () => {
  const pg = await PostgresServer.start();
  const pool = new Pool({ connectionString: pg.url() });
  // The server's shutdown at the end may reach a connection pool.end() is still closing.
  pool.on('error', () => undefined);
  try {
    await pool.query(BOOKKEEPING_DDL);
    const view = { pipelines: [pipeline('traffic', 10), pipeline('sales', 1)] };
    const first = monitor(pool, view);
    await first.loop.evaluate(1_000);
    await first.notifier.close();
    expect(first.sent).toEqual(['firing TributaryFreshnessBreach{pipeline=traffic}']);

    // The first monitor dies (no resolve); meanwhile traffic catches up and sales falls behind.
    view.pipelines = [pipeline('traffic', 0), pipeline('sales', 9)];
    const second = monitor(pool, view);
    await second.loop.evaluate(5_000);
    await second.loop.evaluate(6_000);
    await second.notifier.close();
    expect(second.sent.sort()).toEqual([
      'firing TributaryFreshnessBreach{pipeline=sales}',
      'resolved TributaryFreshnessBreach{pipeline=traffic}',
    ]);

    // A third start finds the history in agreement with what fires: nothing to say.
    const third = monitor(pool, view);
    await third.loop.evaluate(7_000);
    await third.notifier.close();
    expect(third.sent).toEqual([]);
  } finally {
    await pool.end();
  }
});

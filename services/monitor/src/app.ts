/**
 * The monitor: folds stream headers into durable counts, and serves pipeline status, lag,
 * freshness, dead letters and Prometheus metrics; the live dashboard and DLQ console; evaluates
 * alert rules and notifies; tracks service replicas from heartbeats.
 * `createApp` has no side effects until `start()`.
 *
 * Longer than 300 lines because it is the monitor's composition root: each part it wires lives in
 * its own room.
 */
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { BUCKETS, STREAMS } from '@tributary/contract/wire';
import { loadPipelines, type Pipeline } from '@tributary/contract/spec';
import { reportsDir } from '@tributary/contract/reports';
import {
  checkTopology,
  connectNats,
  KvLease,
  Publisher,
  startHeartbeat,
  type Heartbeat,
  topologyStreams,
  type BatchConsumer,
} from '@tributary/runtime/nats';
import { createLogger, type Logger } from '@tributary/runtime/logger';
import { createMetrics } from '@tributary/runtime/metrics';
import { createServiceApp, listen, type Listener } from '@tributary/runtime/http';
import { Shutdown, stopEach } from '@tributary/runtime/shutdown';
import { Pool } from 'pg';
import { AlertMonitor } from './alerts/alert-monitor';
import { AlertNotifier } from './alerts/alert-notifier';
import { createSinks } from './alerts/create-sinks';
import { createApiRouter } from './api/api-router';
import { registerClusterMetrics } from './cluster/cluster-metrics';
import { ClusterProbe } from './cluster/cluster-probe';
import type { MonitorConfig } from './config';
import { readLag } from './status/consumer-lag';
import { createDashboardRouter } from './api/dashboard-router';
import { DeadLetterActions } from './dlq/dead-letter-actions';
import { SourceChecks } from './dlq/replay-target';
import type { FoldedStream } from './fold/folded-message';
import { LineageEmitter, lineageNaming } from './lineage/lineage-emitter';
import { LiveFeed } from './api/live-feed';
import { registerMonitorMetrics } from './monitor-metrics';
import type { TableLoad } from './reports/report-data';
import { startReports, type Reports } from './reports/start-reports';
import { buildOverview } from './status/overview';
import { prepareDatabase } from './prepare-database';
import { ReplicaRegistry } from './cluster/replica-registry';
import { SourceSlots } from './sources/source-slots';
import { createSourceRouter } from './sources/source-router';
import { registerSourceMetrics } from './status/source-metrics';
import { createPauseRouter, readPauses } from './status/pipeline-pauses';
import { SourceRuns } from './sources/source-runs';
import { StatusSnapshots } from './status/status-snapshot';
import { registerStatusMetrics } from './status/status-metrics';
import { createStreamFold, foldSource } from './fold/stream-fold';
import { createDriftFold, DRIFT_FOLD, readDrift } from './fold/drift-fold';
import { readSourceConsistency } from './sources/source-consistency';
import { ThroughputRates } from './status/throughput-rates';

/** Injected dependencies; everything else comes from the config. */
export interface MonitorDeps {
  logger?: Logger;
  /** Pipelines to report on; loaded from `TRIBUTARY_PIPELINES` unless given. */
  pipelines?: Pipeline[];
}

/** A monitor instance. */
export interface MonitorApp {
  /** Connects, checks the topology, starts the fold loops and the HTTP server. */
  start(): Promise<{ port: number }>;
  /** Stops the fold loops (finishing the batch in hand), the HTTP server, NATS and the pool. */
  stop(): Promise<void>;
}

const FOLDED: FoldedStream[] = ['raw', 'processed', 'dlq'];

/** Rejects when `p` takes longer than `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Creates the monitor. Validates the pipelines; touches no network until `start()`. */
export function createApp(config: MonitorConfig, deps: MonitorDeps = {}): MonitorApp {
  const logger = deps.logger ?? createLogger('monitor', config.LOG_LEVEL);
  const pipelines = deps.pipelines ?? loadPipelines(config.TRIBUTARY_PIPELINES);
  const metrics = createMetrics('monitor');

  let nc: NatsConnection | undefined;
  let jsm: JetStreamManager | undefined;
  let natsConnected = false;
  let pool: Pool | undefined;
  const folds: BatchConsumer[] = [];
  let listener: Listener | undefined;
  let heartbeat: Heartbeat | undefined;
  let live: LiveFeed | undefined;
  let alerts: AlertMonitor | undefined;
  let notifier: AlertNotifier | undefined;
  let lineage: LineageEmitter | undefined;
  let reports: Reports | undefined;
  const replicas = new ReplicaRegistry({
    timeoutMs: config.MONITOR_REPLICA_TIMEOUT,
    forgetMs: config.MONITOR_REPLICA_FORGET,
    expected: config.MONITOR_SERVICES,
    logger,
  });
  const rates = new ThroughputRates();
  const monitorMetrics = registerMonitorMetrics(
    metrics.registry,
    replicas,
    () => live?.size ?? 0,
    () => alerts?.failingChecks() ?? [],
  );

  const ready = async (): Promise<string | undefined> => {
    if (!nc || !natsConnected) return 'NATS is not connected';
    const idle = FOLDED.filter((_, i) => !folds[i]?.running);
    if (idle.length > 0) return `fold loops not running: ${idle.join(', ')}`;
    try {
      await within(pool!.query('SELECT 1'), config.MONITOR_REQUEST_TIMEOUT, 'PostgreSQL probe');
    } catch (err) {
      return `PostgreSQL is not reachable: ${(err as Error).message}`;
    }
    return undefined;
  };

  const shutdown = new Shutdown(logger)
    .step('heartbeat', () => heartbeat?.stop())
    .step('alert rules', () => alerts?.stop())
    .step('alert notifications', () => notifier?.close())
    .step('fold loops', () => stopEach(folds))
    .step('lineage', () => lineage?.stop())
    .step('replica registry', () => replicas.stop())
    .step('reports', () => reports?.stop())
    // Live streams never end by themselves: end them so the server can close.
    .step('live feed', () => live?.close())
    .step('HTTP server', () => listener?.close())
    // drain() flushes the acks of the last batches before closing.
    .step('NATS', () => (nc && !nc.isClosed() ? nc.drain() : undefined))
    .step('PostgreSQL pool', () => pool?.end());
  const stop = (): Promise<void> => shutdown.stop();

  const start = async (): Promise<{ port: number }> => {
    try {
      nc = await connectNats(config.NATS_URL, 'tributary-monitor', config);
      natsConnected = true;
      const conn = nc;
      void (async () => {
        for await (const s of conn.status()) {
          if (s.type === 'disconnect') {
            natsConnected = false;
            logger.warn({ server: s.server }, 'NATS disconnected');
          } else if (s.type === 'reconnect') {
            natsConnected = true;
            logger.info({ server: s.server }, 'NATS reconnected');
          }
        }
      })();
      jsm = await jetstreamManager(nc, { timeout: config.MONITOR_REQUEST_TIMEOUT });
      await checkTopology(jsm, {
        streams: [STREAMS.raw, STREAMS.processed, STREAMS.dlq, STREAMS.events],
        consumers: [...FOLDED.map(foldSource), DRIFT_FOLD],
      });

      pool = new Pool({ connectionString: config.DATABASE_URL, max: config.MONITOR_DB_POOL, connectionTimeoutMillis: 5_000 });
      // An idle client losing its server (PostgreSQL restart) must not crash the process.
      pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));
      await prepareDatabase(pool);

      const sourceSlots = new SourceSlots(pipelines, logger.child({ component: 'source-slots' }));
      // The pull sources' schedule state and pauses (absent bucket: an old migrate; runs not shown).
      const cursorsKv = await new Kvm(nc)
        .open(BUCKETS.cursors)
        .then(async (k) => (await k.status(), k))
        .catch(() => undefined);
      const runs = new SourceRuns(cursorsKv, pipelines, { slackMs: config.MONITOR_SOURCE_SLACK });
      const snapshots = new StatusSnapshots({
        pipelines,
        pool,
        readLag: () => readLag(jsm, pipelines, natsConnected),
        ...(sourceSlots.any ? { readSlots: () => sourceSlots.read() } : {}),
        refreshMs: config.MONITOR_REFRESH,
        sourceRuns: (now) => runs.all(now),
        ...(cursorsKv ? { readPauses: () => readPauses(cursorsKv, pipelines) } : {}),
        readDrift: () => readDrift(pool!),
        readConsistency: () => readSourceConsistency(pool!, pipelines),
      });
      const { folded } = registerStatusMetrics(metrics.registry, snapshots, logger);
      registerSourceMetrics(metrics.registry, snapshots);
      const cluster = new ClusterProbe({
        natsUrls: config.NATS_URL.split(',').map((u) => u.trim()),
        monitorUrls: config.NATS_MONITOR_URLS,
        streams: topologyStreams(),
        jsm: () => (natsConnected ? jsm : undefined),
        connectedServer: () => nc?.info?.server_name,
        timeoutMs: config.MONITOR_REQUEST_TIMEOUT,
        refreshMs: config.MONITOR_REFRESH,
      });
      registerClusterMetrics(metrics.registry, cluster, logger);

      const js = jetstream(nc);
      const publisher = new Publisher(js, 256);
      replicas.start(nc);
      heartbeat = startHeartbeat(nc, { service: 'monitor' });
      // Without the leases bucket (an old migrate) this replica notifies alone rather than never.
      const kv = await new Kvm(nc)
        .open(BUCKETS.leases)
        .then(async (k) => (await k.status(), k))
        .catch(() => undefined);
      notifier = new AlertNotifier(createSinks(config), logger.child({ component: 'alerts' }), monitorMetrics.notifications);
      alerts = new AlertMonitor({
        snapshots,
        replicas,
        expectedServices: config.MONITOR_SERVICES,
        pool,
        notifier,
        thresholds: {
          lagMessages: config.MONITOR_ALERT_LAG_MESSAGES,
          dlqGrowth: config.MONITOR_ALERT_DLQ_GROWTH,
          errorRate: config.MONITOR_ALERT_ERROR_RATE,
          windowMs: config.MONITOR_ALERT_WINDOW,
          slotLagSeconds: config.MONITOR_ALERT_SLOT_LAG / 1000,
          slotLagBytes: config.MONITOR_ALERT_SLOT_LAG_BYTES,
          sourceFailures: config.MONITOR_ALERT_SOURCE_FAILURES,
        },
        forMs: config.MONITOR_ALERT_FOR,
        intervalMs: config.MONITOR_ALERT_INTERVAL,
        logger: logger.child({ component: 'alerts' }),
        recordEvents: true,
        lease: kv
          ? new KvLease(
              kv,
              'monitor.alerts',
              heartbeat.instance.replace(/[^\w.=-]/g, '_'),
              Math.max(3 * config.MONITOR_ALERT_INTERVAL, 5_000),
            )
          : undefined,
        publisher: () => publisher,
        gauge: monitorMetrics.alerts,
        cluster: () => cluster.get(),
      });
      const overview = async () => {
        const snapshot = await snapshots.get();
        rates.observe(snapshot.takenAt, snapshot.pipelines);
        return buildOverview({
          pipelines,
          snapshot,
          rates,
          services: replicas.services(),
          alerts: alerts?.list() ?? [],
          cluster: await cluster.get(),
          adminEnabled: config.MONITOR_ADMIN_TOKEN !== undefined,
        });
      };
      live = new LiveFeed(overview, config.MONITOR_LIVE_INTERVAL, logger);
      if (config.MONITOR_OPENLINEAGE_URL) {
        lineage = new LineageEmitter({
          url: config.MONITOR_OPENLINEAGE_URL,
          naming: lineageNaming(config.MONITOR_OPENLINEAGE_NAMESPACE, config.NATS_URL, config.DATABASE_URL),
          pipelines,
          js,
          kv: await new Kvm(nc).open(BUCKETS.cursors).catch(() => undefined),
          pool,
          logger: logger.child({ component: 'lineage' }),
        });
        await lineage.start();
      }
      for (const stream of FOLDED) {
        const { stream: name, durable } = foldSource(stream);
        const info = await jsm.consumers.info(name, durable);
        const maxDeliver =
          info.config.max_deliver !== undefined && info.config.max_deliver > 0 ? info.config.max_deliver : Number.MAX_SAFE_INTEGER;
        folds.push(
          createStreamFold({
            stream,
            js,
            pool,
            logger,
            maxBatch: config.MONITOR_FOLD_BATCH,
            maxDeliver,
            onFolded: (s, n) => folded.inc({ stream: s }, n),
            onDeadLetters: (rows) => lineage?.onDeadLetters(rows),
          }),
        );
      }
      const driftInfo = await jsm.consumers.info(DRIFT_FOLD.stream, DRIFT_FOLD.durable);
      folds.push(
        createDriftFold({
          js,
          pool,
          logger,
          maxBatch: config.MONITOR_FOLD_BATCH,
          maxDeliver:
            driftInfo.config.max_deliver && driftInfo.config.max_deliver > 0 ? driftInfo.config.max_deliver : Number.MAX_SAFE_INTEGER,
        }),
      );
      await Promise.all(folds.map((f) => f.start()));
      alerts.start();

      const app = createServiceApp({ registry: metrics.registry, ready });
      app.set('trust proxy', 'loopback');
      reports = startReports({
        config,
        dir: reportsDir(config),
        pipelines,
        logger: logger.child({ component: 'reports' }),
        loads: async () => {
          const out = new Map<string, TableLoad>();
          for (const p of (await snapshots.get()).pipelines) for (const [t, c] of Object.entries(p.tables)) out.set(`${p.name}.${t}`, c);
          return out;
        },
      });
      app.use(reports.router);
      app.use(
        createApiRouter({
          pipelines,
          snapshots,
          pool,
          logger,
          maxDlqLimit: config.MONITOR_DLQ_MAX_LIMIT,
          overview,
          live,
          replicas,
          alerts,
          cluster,
          adminToken: config.MONITOR_ADMIN_TOKEN,
          actions: new DeadLetterActions(pool, () => publisher, logger, pipelines, monitorMetrics.dlqActions),
          preview: { pool, pipelines, nc: () => nc, checks: new SourceChecks(pipelines), timeoutMs: config.MONITOR_PREVIEW_TIMEOUT },
          sources: createSourceRouter({ pipelines, runs, kv: cursorsKv, adminToken: config.MONITOR_ADMIN_TOKEN, logger }),
          pauses: createPauseRouter({ pipelines, kv: cursorsKv, adminToken: config.MONITOR_ADMIN_TOKEN, logger }),
        }),
      );

      app.use(createDashboardRouter(logger));
      listener = await listen(app, config.MONITOR_PORT, config.HOST, config);
      logger.info({ port: listener.port, pipelines: pipelines.map((p) => p.name) }, 'monitor started');
      return { port: listener.port };
    } catch (err) {
      await stop().catch(() => undefined);
      throw err;
    }
  };

  return { start, stop };
}

/**
 * The loader: one consumer loop per pipeline on `loader-<pipeline>` (TRIB_PROCESSED). Each batch
 * of messages is loaded in one transaction with its ledger rows, then acked; a summary per table
 * is published on `trib.loaded.<pipeline>.<table>` for the monitor and lineage.
 *
 * Longer than 300 lines because it is the loader's composition root: each part it wires lives in
 * its own module.
 */
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SpanKind, trace } from '@opentelemetry/api';
import { assertTableAccess } from '@tributary/warehouse/table-access';
import { tableNeeds } from '@tributary/warehouse/database-roles';
import { archiveOf, openArchiveStore } from '@tributary/archive';
import {
  archiverConsumers,
  BatchConsumer,
  deadLetterMessage,
  failureClass,
  checkTopology,
  connectNats,
  Publisher,
  publishDeadLetter,
  startHeartbeat,
  type Heartbeat,
} from '@tributary/runtime/nats';
import { contextFromHeaders, inSpan } from '@tributary/runtime/telemetry';
import { createLogger, type Logger } from '@tributary/runtime/logger';
import { createMetrics } from '@tributary/runtime/metrics';
import { createServiceApp, listen, type Listener } from '@tributary/runtime/http';
import { Shutdown, stopEach } from '@tributary/runtime/shutdown';
import {
  consumers,
  H,
  header,
  makeHeaders,
  numberHeader,
  sourceTimeHeader,
  STREAMS,
  subjects,
  subjectTokens,
  txnGroupHeader,
  type TxnGroup,
} from '@tributary/contract/wire';
import { decodeNdjson } from '@tributary/contract/codec';
import { isTributaryError, TributaryError } from '@tributary/contract/errors';
import { loadPipelines, type Pipeline } from '@tributary/contract/spec';
import { Pool } from 'pg';
import { Counter, Histogram } from 'prom-client';
import { BatchLoader, type LoadItem, type RejectedRow } from './batch-loader';
import type { LoaderConfig } from './config';
import { blockedTables } from './blocked-tables';
import { ModelScheduler, modelMetrics } from './model-scheduler';
import { Archiver, archiveMetrics } from './archiver';
import { RetentionScheduler, retentionMetrics } from './retention';
import { landingArchive, localArchive, type ArchivePartition } from './table-archive';
import { openTableSinks, type TableSinks } from './table-sinks';

/** Optional injected dependencies (tests). */
export interface LoaderDeps {
  logger?: Logger;
  pipelines?: Pipeline[];
  /** Where retention writes partitions before dropping them; default a local folder (`RETENTION_ARCHIVE_DIR`). */
  archivePartition?: ArchivePartition;
}

/** Builds the loader. */
export function createApp(config: LoaderConfig, deps: LoaderDeps = {}) {
  const logger = deps.logger ?? createLogger('loader', config.LOG_LEVEL);
  const only = config.LOADER_ONLY?.split(',').map((s) => s.trim());
  const pipelines = (deps.pipelines ?? loadPipelines(config.TRIBUTARY_PIPELINES)).filter((p) => !only || only.includes(p.name));
  const metrics = createMetrics('loader');
  const latency = new Histogram({
    name: 'tributary_load_latency_seconds',
    help: 'From the earliest ingest time of a message to its commit in the warehouse.',
    labelNames: ['pipeline', 'table'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [metrics.registry],
  });
  const rows = new Counter({
    name: 'tributary_rows_total',
    help: 'Records loaded into a warehouse table by what they did to it (docs/warehouse.md, Load counts).',
    labelNames: ['pipeline', 'table', 'outcome'],
    registers: [metrics.registry],
  });
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: config.LOADER_POOL_SIZE, application_name: 'tributary-loader' });
  pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));
  let nc: NatsConnection | undefined;
  let publisher: Publisher | undefined;
  const loops: BatchConsumer[] = [];
  const models = modelMetrics(metrics.registry);
  const schedulers = new Map<string, ModelScheduler>();
  /** Each pipeline's batch loader (a dead-lettered part of a source transaction completes its group through it). */
  const loaders = new Map<string, BatchLoader>();
  const retention = new RetentionScheduler(pool, pipelines, {
    intervalMs: config.RETENTION_INTERVAL,
    archive: deps.archivePartition ?? landingArchive(pipelines, config, localArchive(config.RETENTION_ARCHIVE_DIR)),
    metrics: retentionMetrics(metrics.registry),
    logger: logger.child({ component: 'retention' }),
  });
  let listener: Listener | undefined;
  let heartbeat: Heartbeat | undefined;
  // The archiver runs for pipelines with an `archive:` section (all of them with ARCHIVE_ALL=true).
  const archived = pipelines.flatMap((p) => {
    const archive = archiveOf(p, config);
    return archive ? [{ pipeline: p, archive }] : [];
  });
  const archiveMetricSet = archived.length > 0 ? archiveMetrics(metrics.registry) : undefined;
  const archivers: Archiver[] = [];
  /** The sinks of each pipeline's tables (checked by /readyz). */
  const tableSinks: TableSinks[] = [];

  const app = createServiceApp({
    registry: metrics.registry,
    ready: async () => {
      if (loops.length < pipelines.length || loops.some((l) => !l.running)) return 'consumers not running';
      if (archivers.length < archived.length || archivers.some((a) => !a.running)) return 'archiver consumers not running';
      if (nc?.isClosed()) return 'NATS connection closed';
      try {
        await pool.query('SELECT 1');
      } catch (err) {
        return `warehouse unreachable: ${(err as Error).message}`;
      }
      return (await Promise.all(tableSinks.map((s) => s.ready()))).find((why) => why !== undefined);
    },
  });

  function decode(msg: JsMsg): LoadItem {
    const [, dataset] = subjectTokens(msg.subject);
    const sourceTime = sourceTimeHeader(msg.headers);
    const txn = txnGroupHeader(msg.headers);
    return {
      msgId: header(msg.headers, 'Nats-Msg-Id') ?? `${STREAMS.processed}:${msg.seq}`,
      dataset: dataset!,
      seq: msg.seq,
      ingestedAt: numberHeader(msg.headers, H.ingestedAt, Date.now()),
      ...(sourceTime ? { sourceTime } : {}),
      records: decodeNdjson(msg.data),
      ...(header(msg.headers, H.model) ? { model: header(msg.headers, H.model) } : {}),
      ...(txn ? { txn, body: Buffer.from(msg.data) } : {}),
    };
  }

  async function deadLetterRows(pipeline: Pipeline, rows: RejectedRow[], attempts: number): Promise<void> {
    await Promise.all(
      rows.map((r) =>
        publishDeadLetter(
          publisher!,
          {
            pipeline: pipeline.name,
            stage: 'load',
            name: r.item.dataset,
            record: r.record,
            error: { code: r.error.code, message: r.error.message, location: { ...r.error.location, index: r.index } },
            attempts,
            replaySubject: subjects.processed(pipeline.name, r.item.dataset),
            original: {
              stream: STREAMS.processed,
              subject: subjects.processed(pipeline.name, r.item.dataset),
              seq: r.item.seq,
              msgId: r.item.msgId,
              index: r.index,
            },
            ingestedAt: r.item.ingestedAt,
            failedAt: new Date().toISOString(),
          },
          `${r.item.msgId}:${r.table.name}:dlq:${r.index}`,
        ),
      ),
    );
    metrics.records.inc(
      { pipeline: pipeline.name, stage: 'load', name: rows[0]?.item.dataset ?? '', outcome: 'dead_lettered' },
      rows.length,
    );
  }

  async function handleBatch(pipeline: Pipeline, loader: BatchLoader, msgs: JsMsg[]): Promise<void> {
    const items = msgs.map(decode);
    const first = msgs[0]!;
    // One span per flush, child of the first message's trace and linked to the others'.
    const links = msgs
      .slice(1)
      .map((m) => ({ context: trace.getSpanContext(contextFromHeaders(m.headers)) }))
      .filter((l) => l.context) as { context: NonNullable<ReturnType<typeof trace.getSpanContext>> }[];
    await inSpan(
      `load ${pipeline.name}`,
      {
        kind: SpanKind.CONSUMER,
        links,
        attributes: {
          'messaging.system': 'nats',
          'messaging.destination.name': first.subject,
          'messaging.batch.message_count': msgs.length,
          'db.system.name': 'postgresql',
        },
      },
      contextFromHeaders(first.headers),
      async () => {
        const summaries = await loader.load(items, (rows) => deadLetterRows(pipeline, rows, first.info.deliveryCount));
        schedulers.get(pipeline.name)?.markLoaded(summaries.filter((s) => s.written > 0).map((s) => s.table));
        const now = Date.now();
        for (const s of summaries) {
          metrics.records.inc({ pipeline: pipeline.name, stage: 'load', name: s.table, outcome: 'loaded' }, s.records);
          if (s.skipped) metrics.records.inc({ pipeline: pipeline.name, stage: 'load', name: s.table, outcome: 'skipped' }, s.skipped);
          for (const outcome of ['inserted', 'updated', 'unchanged', 'skipped'] as const) {
            if (s[outcome] > 0) rows.inc({ pipeline: pipeline.name, table: s.table, outcome }, s[outcome]);
          }
          for (const it of items) latency.observe({ pipeline: pipeline.name, table: s.table }, Math.max(0, now - it.ingestedAt) / 1000);
          // Informational: the commit is what counts; a lost notice is re-derivable from the ledger.
          publisher!
            .publish(
              subjects.loaded(pipeline.name, s.table),
              Buffer.from(JSON.stringify({ pipeline: pipeline.name, ...s, loadedAt: new Date(now).toISOString() })),
              {
                msgId: `loaded:${s.table}:${s.firstSeq}-${s.lastSeq}:${s.messages}`,
                headers: makeHeaders({
                  [H.pipeline]: pipeline.name,
                  [H.table]: s.table,
                  [H.count]: s.records,
                  [H.ingestedAt]: s.minIngestedAt,
                }),
              },
            )
            .catch((err: unknown) => logger.warn({ err }, 'loaded notice not published'));
        }
      },
    );
  }

  /** Dead-letters a whole processed message that cannot be loaded (undecodable, or poison). */
  async function poison(pipeline: Pipeline, msg: JsMsg, err: unknown): Promise<void> {
    await deadLetterMessage(publisher!, msg, err, { pipeline: pipeline.name, stage: 'load', stream: STREAMS.processed });
    // A dead-lettered part of a source transaction still completes its group (with no rows), or
    // the rest of the transaction would wait for it for ever.
    let txn: TxnGroup | undefined;
    try {
      txn = txnGroupHeader(msg.headers);
    } catch {
      return; // its group headers are what is broken: the group cannot be told complete (the DLQ shows it)
    }
    if (!txn) return;
    const [, dataset] = subjectTokens(msg.subject);
    const msgId = header(msg.headers, 'Nats-Msg-Id') ?? `${STREAMS.processed}:${msg.seq}`;
    try {
      await loaders
        .get(pipeline.name)!
        .load([{ msgId, dataset: dataset!, seq: msg.seq, ingestedAt: Date.now(), records: [], txn, body: Buffer.alloc(0) }], (rows) =>
          deadLetterRows(pipeline, rows, msg.info.deliveryCount),
        );
    } catch (err) {
      if (failureClass(err) === 'infrastructure') throw err; // the loop retries it
      logger.error(
        { err, pipeline: pipeline.name, msgId, group: txn.group },
        'a dead-lettered part could not complete its source transaction',
      );
    }
  }

  const shutdown = new Shutdown(logger)
    .step('heartbeat', () => heartbeat?.stop())
    .step('consumers', async () => {
      await stopEach([...loops.splice(0), ...archivers.splice(0)]);
      logger.info(
        { pipelines: pipelines.map((p) => p.name) },
        'loader stopped consuming (the batches in hand finished, the queued ones handed back)',
      );
    })
    .step('model schedulers', () => stopEach(schedulers.values()))
    .step('retention', () => retention.stop())
    .step('HTTP server', () => listener?.close())
    .step('NATS', () => (nc && !nc.isClosed() ? nc.drain() : undefined))
    .step('PostgreSQL pool', () => pool.end())
    .step('table sinks', () => {
      for (const s of tableSinks.splice(0)) s.close();
    });

  return {
    app,
    metrics,
    /** Connects, checks topology and tables, starts one loop per pipeline. */
    async start(): Promise<{ port: number }> {
      nc = await connectNats(config.NATS_URL, 'loader', config);
      const jsm = await jetstreamManager(nc);
      await checkTopology(jsm, {
        streams: [STREAMS.processed, STREAMS.loaded, STREAMS.dlq],
        consumers: [
          ...pipelines.map((p) => ({ stream: STREAMS.processed, durable: consumers.loader(p.name) })),
          ...archived.flatMap(({ pipeline, archive }) => archiverConsumers(pipeline, archive.stages)),
        ],
      });
      // Tables exist (migrate made them) and this database user may write them (tributary_loader).
      await assertTableAccess(pool, tableNeeds('loader', pipelines), 'loader').catch((err: unknown) => {
        if (isTributaryError(err)) throw err;
        throw new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', `cannot reach the warehouse: ${(err as Error).message}`, { cause: err });
      });
      const js = jetstream(nc);
      publisher = new Publisher(js, 256);
      for (const p of pipelines) {
        const scheduler = new ModelScheduler(pool, p, models, logger.child({ pipeline: p.name }), config.LOADER_MODELS_INTERVAL_MS);
        schedulers.set(p.name, scheduler);
        scheduler.start();
        const sinks = await openTableSinks(p, logger.child({ pipeline: p.name }));
        tableSinks.push(sinks);
        const blocked = await blockedTables(pool, p, metrics.registry, logger, sinks.problems);
        const loader = new BatchLoader(pool, p, blocked, logger.child({ pipeline: p.name }), sinks.sinks);
        loaders.set(p.name, loader);
        const loop = new BatchConsumer({
          js,
          stream: STREAMS.processed,
          durable: consumers.loader(p.name),
          maxBatch: config.LOADER_BATCH_MESSAGES,
          // The process's budget, shared by its pipelines: memory does not grow with their number.
          maxBatchBytes: Math.ceil(config.LOADER_FETCH_BYTES / pipelines.length),
          maxMessageBytes: nc!.info?.max_payload,
          maxDeliver: config.TRIBUTARY_MAX_DELIVER,
          logger: logger.child({ pipeline: p.name }),
          handle: (msgs) => handleBatch(p, loader, msgs),
          onPoison: (m, err) => poison(p, m, err),
          onIsolated: ({ failure }) => metrics.isolated.inc({ pipeline: p.name, stage: 'load', failure }),
          onBatch: ({ ms, ok }) =>
            metrics.batchSeconds.observe({ pipeline: p.name, stage: 'load', result: ok ? 'ok' : 'error' }, ms / 1000),
        });
        await loop.start();
        metrics.trackOutage({ pipeline: p.name, stage: 'load' }, loop);
        loops.push(loop);
        // Lifecycle at info, one line (issue 16): what this replica loads and which tables are blocked
        // (each blocked table also has its TRIB_E_SCHEMA_INCOMPATIBLE error line).
        const loading = p.tables.map((t) => t.name).filter((t) => !blocked.has(t));
        logger.info(
          { pipeline: p.name, durable: consumers.loader(p.name), tables: loading, blocked: [...blocked.keys()] },
          `pipeline ${p.name}: loading ${loading.length} table(s)${blocked.size > 0 ? `, ${blocked.size} blocked (${[...blocked.keys()].join(', ')})` : ''}`,
        );
      }
      for (const { pipeline, archive } of archived) {
        const archiver = new Archiver({
          js,
          jsm,
          pipeline,
          archive,
          store: await openArchiveStore(pipeline, config),
          maxDeliver: config.TRIBUTARY_MAX_DELIVER,
          metrics: archiveMetricSet!,
          logger,
        });
        await archiver.start();
        archivers.push(archiver);
      }
      // Partition maintenance and retention: once now, then every RETENTION_INTERVAL.
      retention.start();
      listener = await listen(app, config.LOADER_PORT, config.HOST, config);
      heartbeat = startHeartbeat(nc, { service: 'loader' });
      logger.info({ port: listener.port, pipelines: pipelines.map((p) => p.name) }, 'loader ready');
      return { port: listener.port };
    },
    /** Finishes the transactions in hand, then closes. */
    stop: () => shutdown.stop(),
  };
}

/**
 * The archiver: for each archived pipeline, a consumer loop per archived stage on the durable
 * `archiver-<pipeline>` (TRIB_RAW, TRIB_PROCESSED; created by `migrate`) that gathers messages
 * for up to `archive.flush.interval` or `max_messages`, writes them as archive files (one per
 * stage, source or dataset and day: `writeArchive`), and acks them only once the files are
 * durable. Killed at any moment, it gets the unacked messages again and rewrites the same files
 * or leaves out what is already archived, so every message is in the archive exactly once.
 * It runs in the loader: the loader already reads every pipeline's processed stream, has the
 * pipeline specs and scales out the same way (replicas share the durable consumer); a separate
 * service would add a deployment for a few file writes.
 */
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { BACKFILL_HEADER, bodyLines, writeArchive, type ArchiveFlush, type ArchiveInput, type ArchiveStore } from '@tributary/archive';
import { BatchConsumer } from '@tributary/runtime/nats';
import { type Logger } from '@tributary/runtime/logger';
import { consumers, H, header, numberHeader, STREAMS, subjectTokens } from '@tributary/contract/wire';
import { isRetryable } from '@tributary/contract/errors';
import { type ArchiveSpec, type ArchiveStage, type Pipeline } from '@tributary/contract/spec';
import { Counter, Gauge, type Registry } from 'prom-client';

/** The archiver's metrics, registered once per loader process. */
export interface ArchiveMetrics {
  files: Counter<'pipeline' | 'stage'>;
  bytes: Counter<'pipeline' | 'stage'>;
  records: Counter<'pipeline' | 'stage'>;
  failed: Counter<'pipeline' | 'stage'>;
  lag: Gauge<'pipeline' | 'stage'>;
  /** Refreshers of `lag`, one per running consumer loop, called on each scrape. */
  lagReaders: Set<() => Promise<void>>;
}

/** Registers the archive metrics (only when some pipeline is archived). */
export function archiveMetrics(registry: Registry): ArchiveMetrics {
  const lagReaders = new Set<() => Promise<void>>();
  const counter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ['pipeline', 'stage'] as const, registers: [registry] });
  return {
    files: counter('tributary_archive_files_total', 'Archive files written (a rewrite after redelivery counts again).'),
    bytes: counter('tributary_archive_bytes_total', 'Bytes of archive files written.'),
    records: counter('tributary_archive_records_total', 'Records written to archive files.'),
    failed: counter('tributary_archive_failed_total', 'Messages the archiver gave up on (logged with sequence and ID).'),
    lag: new Gauge({
      name: 'tributary_archive_lag_messages',
      help: 'Messages of a stage not archived yet (pending + unacknowledged on archiver-<pipeline>).',
      labelNames: ['pipeline', 'stage'] as const,
      registers: [registry],
      async collect() {
        await Promise.all([...lagReaders].map((read) => read().catch(() => undefined)));
      },
    }),
    lagReaders,
  };
}

/** What an archiver needs. */
export interface ArchiverOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  pipeline: Pipeline;
  archive: ArchiveSpec;
  store: ArchiveStore;
  maxDeliver: number;
  metrics: ArchiveMetrics;
  logger: Logger;
}

const STREAM_OF: Record<ArchiveStage, string> = { raw: STREAMS.raw, processed: STREAMS.processed };

/** The archiver of one pipeline. */
export class Archiver {
  private readonly loops: BatchConsumer[] = [];
  private readonly readers: (() => Promise<void>)[] = [];

  constructor(private readonly opts: ArchiverOptions) {}

  /** True while every loop pulls messages. */
  get running(): boolean {
    return this.loops.length === this.opts.archive.stages.length && this.loops.every((l) => l.running);
  }

  /** Starts a loop per archived stage. */
  async start(): Promise<void> {
    const { pipeline, archive, metrics } = this.opts;
    for (const stage of archive.stages) {
      const stream = STREAM_OF[stage];
      const durable = consumers.archiver(pipeline.name);
      const labels = { pipeline: pipeline.name, stage };
      const logger = this.opts.logger.child({ pipeline: pipeline.name, archive: stage });
      const loop = new BatchConsumer({
        js: this.opts.js,
        stream,
        durable,
        maxBatch: archive.flush.max_messages,
        lingerMs: archive.flush.interval,
        maxDeliver: this.opts.maxDeliver,
        // The archive store's own errors (S3 SDK, file system) are not ours to classify: retried
        // as before, never isolated for being unknown (a message that was loaded is never lost).
        unknownAttempts: Number.POSITIVE_INFINITY,
        logger,
        handle: async (msgs) => this.record(stage, await this.write(stage, msgs), logger),
        onPoison: (msg, err) => this.lastTry(stage, msg, err, logger),
      });
      await loop.start();
      this.loops.push(loop);
      const read = async (): Promise<void> => {
        const info = await this.opts.jsm.consumers.info(stream, durable);
        metrics.lag.set(labels, info.num_pending + info.num_ack_pending);
      };
      this.readers.push(read);
      metrics.lagReaders.add(read);
    }
  }

  /** Finishes the flush in hand; queued messages are handed back to JetStream. */
  async stop(): Promise<void> {
    for (const r of this.readers.splice(0)) this.opts.metrics.lagReaders.delete(r);
    await Promise.all(this.loops.splice(0).map((l) => l.stop()));
    this.opts.store.close();
  }

  private write(stage: ArchiveStage, msgs: JsMsg[]): Promise<ArchiveFlush> {
    // A message a backfill republished is in the archive already (under its first sequence).
    const fresh = msgs.filter((m) => header(m.headers, BACKFILL_HEADER) === undefined);
    return writeArchive(
      this.opts.store,
      this.opts.pipeline.name,
      this.opts.archive,
      fresh.map((m) => toInput(stage, m)),
    );
  }

  private record(stage: ArchiveStage, flush: ArchiveFlush, logger: Logger): void {
    const labels = { pipeline: this.opts.pipeline.name, stage };
    for (const f of flush.files) {
      this.opts.metrics.files.inc(labels);
      this.opts.metrics.bytes.inc(labels, f.bytes);
      this.opts.metrics.records.inc(labels, f.records);
    }
    if (flush.unreadable.length)
      logger.warn({ files: flush.unreadable }, 'archive files that cannot be read were not checked for redelivered messages');
    logger.debug({ files: flush.files.map((f) => f.key), alreadyArchived: flush.alreadyArchived }, 'archived');
  }

  /**
   * A message on its last delivery (it was in flushes that crashed or stalled every time) or
   * one that cannot be encoded: archived alone; when even that fails for good, logged and
   * counted, and the stream still holds it until its max age. Not dead-lettered: it was
   * loaded, and a dead letter would count it twice.
   */
  private async lastTry(stage: ArchiveStage, msg: JsMsg, cause: unknown, logger: Logger): Promise<void> {
    try {
      this.record(stage, await this.write(stage, [msg]), logger);
    } catch (err) {
      if (isRetryable(err)) throw err; // the store is unavailable: BatchConsumer keeps the message and retries
      this.opts.metrics.failed.inc({ pipeline: this.opts.pipeline.name, stage });
      logger.error(
        { err, cause, seq: msg.seq, msgId: header(msg.headers, 'Nats-Msg-Id'), subject: msg.subject },
        'message not archived: giving up on it',
      );
    }
  }
}

/** The archive writer's view of a message. */
function toInput(stage: ArchiveStage, msg: JsMsg): ArchiveInput {
  const [, name] = subjectTokens(msg.subject);
  const headers: Record<string, string> = {};
  for (const k of msg.headers?.keys() ?? []) if (k !== 'Nats-Msg-Id') headers[k] = msg.headers!.get(k);
  return {
    stage,
    name: name!,
    subject: msg.subject,
    seq: msg.seq,
    // The loader's fallback ID for a message without one, so a backfill keeps its ledger key.
    msgId: header(msg.headers, 'Nats-Msg-Id') ?? `${STREAM_OF[stage]}:${msg.seq}`,
    ingestedAt: numberHeader(msg.headers, H.ingestedAt, Number(msg.timestampNanos / 1_000_000n)),
    headers,
    records: bodyLines(msg.data),
    redelivered: msg.info.deliveryCount > 1,
  };
}

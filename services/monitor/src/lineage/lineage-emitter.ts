/**
 * Sends OpenLineage run events for loads to an endpoint (`MONITOR_OPENLINEAGE_URL`, e.g.
 * Marquez: `POST <url>/api/v1/lineage`). Completed loads come from TRIB_LOADED, read with an
 * ordered consumer from a cursor kept in the `trib_cursors` KV bucket (at least once across
 * restarts; run IDs are derived from the load, so a repeat is the same run). Failed loads come
 * from the DLQ fold. Delivery failures are retried a few times, then logged and skipped: lineage
 * must never hold the pipeline or the monitor back.
 */
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { header, STREAMS, subjectTokens } from '@tributary/contract/wire';
import { type Pipeline } from '@tributary/contract/spec';
import type { Logger } from '@tributary/runtime/logger';
import type { Pool } from 'pg';
import type { DeadLetterRow } from '../fold/folded-message';
import { completedLoadEvents, failedLoadEvents, type LineageNaming, type LoadNotice } from './load-run-events';
import type { RunEvent } from './openlineage-model';

const CURSOR_KEY = 'monitor.lineage.loaded';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Inputs of the emitter. */
export interface LineageEmitterOptions {
  url: string;
  naming: LineageNaming;
  pipelines: readonly Pipeline[];
  js: JetStreamClient;
  /** Cursor store; without it the emitter starts at new loads. */
  kv?: KV;
  pool: Pool;
  logger: Logger;
}

/** The trace ID of a W3C traceparent header. */
function traceIdOf(traceparent: string | undefined): string | undefined {
  return /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent ?? '')?.[1];
}

/** Dataset namespaces from the connection URLs (OpenLineage naming: `nats://host:port`, `postgres://host:port`). */
export function lineageNaming(namespace: string, natsUrl: string, databaseUrl: string): LineageNaming {
  const nats = new URL(natsUrl.split(',')[0]!.trim());
  const pg = new URL(databaseUrl);
  return {
    namespace,
    natsNamespace: `nats://${nats.hostname}:${nats.port || 4222}`,
    postgresNamespace: `postgres://${pg.hostname || 'localhost'}:${pg.port || 5432}`,
    database: decodeURIComponent(pg.pathname.replace(/^\//, '')) || 'postgres',
  };
}

/** Emits run events. */
export class LineageEmitter {
  private stopping = false;
  private loop: Promise<void> | undefined;
  private iter: { stop(): void } | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** Events sent (tests and metrics). */
  sent = 0;

  constructor(private readonly opts: LineageEmitterOptions) {}

  /** Starts reading TRIB_LOADED from the cursor. */
  async start(): Promise<void> {
    const cursor = Number((await this.opts.kv?.get(CURSOR_KEY).catch(() => null))?.string() ?? 0) || 0;
    const consumer = await this.opts.js.consumers.get(STREAMS.loaded, {
      filter_subjects: 'trib.loaded.>',
      // First start: from now on (sending the whole retained history to a lineage server at once
      // would flood it); afterwards from the cursor, so nothing is missed across restarts.
      ...(cursor > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: cursor + 1 } : { deliver_policy: DeliverPolicy.New }),
    });
    const messages = await consumer.consume();
    this.iter = messages;
    let savedAt = 0;
    this.loop = (async () => {
      for await (const m of messages) {
        if (this.stopping) break;
        try {
          const notice = await this.notice(m.subject, m.json<Record<string, unknown>>(), header(m.headers, 'traceparent'));
          if (notice) await this.send(completedLoadEvents(notice, this.opts.naming));
        } catch (err) {
          this.opts.logger.warn({ err, seq: m.seq }, 'lineage: skipping a load notice');
        }
        // The cursor is saved at most once a second: a restart resends at most a second of runs,
        // which the deterministic run IDs make harmless.
        if (Date.now() - savedAt >= 1_000 || m.info.pending === 0) {
          savedAt = Date.now();
          await this.opts.kv?.put(CURSOR_KEY, String(m.seq)).catch(() => undefined);
        }
      }
    })();
  }

  /** Emits FAIL runs for whole messages the loader dead-lettered (called by the DLQ fold). */
  onDeadLetters(rows: readonly DeadLetterRow[]): void {
    for (const r of rows) {
      const original = r.original ? (JSON.parse(r.original) as { seq?: number; msgId?: string; index?: number }) : {};
      // A rejected row is not a failed load (the rest of its batch committed); a whole message is.
      if (r.stage !== 'load' || original.index !== undefined) continue;
      const pipeline = this.opts.pipelines.find((p) => p.name === r.pipeline);
      const tables = pipeline?.tables.filter((t) => t.from === r.name).map((t) => t.name) ?? [];
      if (tables.length === 0) continue;
      const record = r.record ? (JSON.parse(r.record) as unknown) : null;
      const events = failedLoadEvents(
        {
          pipeline: r.pipeline,
          dataset: r.name,
          tables,
          seq: original.seq,
          msgId: original.msgId ?? r.msgId,
          records: typeof record === 'string' ? record.split('\n').filter(Boolean).length : 1,
          error: `${r.errorCode ?? 'error'}: ${r.errorMessage ?? ''}`.trim(),
          failedAt: r.failedAt ?? new Date().toISOString(),
        },
        this.opts.naming,
      );
      this.queue = this.queue.then(() => this.send(events));
    }
  }

  /** Reads a notice body and adds when its transaction started (from the ledger). */
  private async notice(subject: string, body: Record<string, unknown>, traceparent: string | undefined): Promise<LoadNotice | undefined> {
    const [pipeline, table] = subjectTokens(subject);
    const spec = this.opts.pipelines.find((p) => p.name === pipeline);
    const dataset = spec?.tables.find((t) => t.name === table)?.from;
    if (!pipeline || !table || !dataset) return undefined;
    const firstSeq = Number(body.firstSeq);
    const lastSeq = Number(body.lastSeq);
    const loadedAt = typeof body.loadedAt === 'string' ? body.loadedAt : new Date().toISOString();
    const started = await this.opts.pool
      .query<{ t: Date | null }>(
        `SELECT min(loaded_at) AS t FROM tributary.load_ledger
         WHERE pipeline = $1 AND table_name = $2 AND stream_seq BETWEEN $3 AND $4
           AND loaded_at BETWEEN $5::timestamptz - interval '1 hour' AND $5::timestamptz`,
        [pipeline, table, firstSeq, lastSeq, loadedAt],
      )
      .then((r) => r.rows[0]?.t ?? undefined)
      .catch(() => undefined);
    return {
      pipeline,
      table,
      dataset,
      messages: Number(body.messages) || 0,
      records: Number(body.records) || 0,
      written: Number(body.written) || 0,
      firstSeq,
      lastSeq,
      loadedAt,
      startedAt: started?.toISOString(),
      traceId: traceIdOf(traceparent),
      ...(Array.isArray(body.models) ? { models: body.models.filter((m): m is string => typeof m === 'string') } : {}),
    };
  }

  private async send(events: RunEvent[]): Promise<void> {
    const url = `${this.opts.url.replace(/\/$/, '')}/api/v1/lineage`;
    for (const event of events) {
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(event),
            signal: AbortSignal.timeout(10_000),
          });
          await r.arrayBuffer().catch(() => undefined);
          if (r.status >= 300) throw new Error(`${url} answered ${r.status}`);
          this.sent++;
          break;
        } catch (err) {
          if (this.stopping || attempt >= 3) {
            this.opts.logger.warn({ err, eventType: event.eventType, job: event.job.name }, 'lineage event not delivered');
            break;
          }
          await sleep(500 * 2 ** attempt);
        }
      }
    }
  }

  /** Stops reading; events in flight finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.iter?.stop();
    await this.loop?.catch(() => undefined);
    await this.queue;
  }
}

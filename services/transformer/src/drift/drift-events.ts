/**
 * Turns the drift the projection tallies into what operators see: the counter
 * `tributary_schema_drift_total`, one info log line when a (dataset, field, kind) is first
 * seen by this process, and drift events on `trib.events.<pipeline>.drift` (`DriftEvent`), at most
 * one per (dataset, field, kind) per interval, never one per record. The first event of a drift is
 * published with the batch that found it (durable before that batch is acked); later counts go out
 * with a later batch or the interval's timer (`DriftEventTimer`).
 */
import { hostname } from 'node:os';
import { DEFAULT_DRIFT_POLICY, DRIFT_EVENT, type DriftEvent, type Pipeline } from '@tributary/contract/spec';
import { H, makeHeaders, subjects } from '@tributary/contract/wire';
import { PeriodicTask } from '@tributary/runtime/periodic-task';
import { type Logger } from '@tributary/runtime/logger';
import { type Publisher } from '@tributary/runtime/nats';
import { Counter, type Registry } from 'prom-client';
import type { DriftTally } from './projection';

/** A sample larger than this (JSON characters) is replaced by its first characters. */
const MAX_SAMPLE_CHARS = 4096;

interface DriftState {
  event: Omit<DriftEvent, 'first_seen' | 'last_seen' | 'count' | 'new_count'>;
  firstSeen: number;
  lastSeen: number;
  count: number;
  /** `count` as of the last published event, and when that was. */
  published: number;
  publishedAt: number;
}

/** A drift event ready to publish, and what to undo when its publish fails. */
export interface PendingDriftEvent {
  subject: string;
  body: DriftEvent;
  headers: ReturnType<typeof makeHeaders>;
  key: string;
}

const sampleOf = (rec: unknown): unknown => {
  const text = JSON.stringify(rec) ?? 'null';
  return text.length <= MAX_SAMPLE_CHARS ? rec : `${text.slice(0, MAX_SAMPLE_CHARS)}... (${text.length} characters)`;
};

/** The drift state of one transformer process, across its pipelines. */
export class DriftRecorder {
  private readonly states = new Map<string, DriftState>();
  private readonly counter: Counter;

  constructor(
    registry: Registry,
    private readonly opts: { intervalMs: number; logger: Logger },
  ) {
    this.counter = new Counter({
      name: 'tributary_schema_drift_total',
      help: 'Fields of records that drifted from their dataset (kind: new, missing, type_changed; a record with two new fields counts two), by the on_drift policy and what it did to the record (dead_lettered, value_dropped, row_dropped, column_added).',
      labelNames: ['pipeline', 'dataset', 'kind', 'policy', 'action'],
      registers: [registry],
    });
  }

  /** Notes one batch's drift of `dataset` (records from `source`). */
  note(pipeline: Pipeline, dataset: string, source: string, tally: DriftTally, now = Date.now()): void {
    const written = pipeline.datasets.find((d) => d.name === dataset)?.onDrift;
    const policy = written ?? DEFAULT_DRIFT_POLICY;
    for (const e of tally.values()) {
      this.counter.inc({ pipeline: pipeline.name, dataset, kind: e.kind, policy, action: e.action }, e.count);
      const key = `${pipeline.name}\u0000${dataset}\u0000${e.field}\u0000${e.kind}`;
      const have = this.states.get(key);
      if (have) {
        have.count += e.count;
        have.lastSeen = now;
        continue;
      }
      const event: DriftState['event'] = {
        pipeline: pipeline.name,
        dataset,
        source,
        field: e.field,
        kind: e.kind,
        ...(e.expected ? { expected: e.expected } : {}),
        seen: e.seen,
        policy,
        ...(written ? {} : { default: true }),
        action: e.action,
        ...(e.columnType ? { column_type: e.columnType } : {}),
        sample: sampleOf(e.sample),
      };
      this.states.set(key, { event, firstSeen: now, lastSeen: now, count: e.count, published: 0, publishedAt: -Infinity });
      const { sample: _s, ...about } = event;
      this.opts.logger.info(
        { drift: about, records: e.count },
        `schema drift: field "${e.field}" ${e.kind} in dataset "${dataset}", ${e.action} (on_drift: ${policy})`,
      );
    }
  }

  /** The events due at `now` for `pipeline`: new drift, or counts grown since an event older than the interval. */
  due(pipeline: string, now = Date.now()): PendingDriftEvent[] {
    const out: PendingDriftEvent[] = [];
    for (const [key, s] of this.states) {
      if (s.event.pipeline !== pipeline || s.count === s.published) continue;
      if (s.published > 0 && now - s.publishedAt < this.opts.intervalMs) continue;
      const body: DriftEvent = {
        ...s.event,
        first_seen: new Date(s.firstSeen).toISOString(),
        last_seen: new Date(s.lastSeen).toISOString(),
        count: s.count,
        new_count: s.count - s.published,
      };
      out.push({
        key,
        subject: subjects.events(pipeline, DRIFT_EVENT),
        body,
        headers: makeHeaders({
          [H.pipeline]: pipeline,
          [H.name]: DRIFT_EVENT,
          [H.dataset]: s.event.dataset,
          [H.count]: 1,
          [H.contentType]: 'application/json',
        }),
      });
      s.published = s.count;
      s.publishedAt = now;
    }
    return out;
  }

  /** Their publish failed: they are due again (with what was counted since). */
  failed(events: PendingDriftEvent[]): void {
    for (const e of events) {
      const s = this.states.get(e.key);
      if (!s) continue;
      s.published -= e.body.new_count;
      s.publishedAt = -Infinity;
    }
  }

  /** Publishes `events` under IDs derived from `idBase` (an input message ID, or the timer's). */
  async publish(publisher: Publisher, events: PendingDriftEvent[], idBase: string): Promise<void> {
    try {
      await Promise.all(
        events.map((e) =>
          publisher.publish(e.subject, Buffer.from(JSON.stringify(e.body)), {
            msgId: `${idBase}:drift:${e.body.dataset}:${e.body.field}:${e.body.kind}:${e.body.count}`,
            headers: e.headers,
          }),
        ),
      );
    } catch (err) {
      this.failed(events);
      throw err;
    }
  }
}

/** Publishes the drift counts no batch carried out, every interval, for each pipeline. */
export class DriftEventTimer {
  private readonly task: PeriodicTask;
  private readonly id = `drift-timer:${hostname()}:${process.pid}`;

  constructor(opts: { recorder: DriftRecorder; publisher: () => Publisher; pipelines: string[]; intervalMs: number; logger: Logger }) {
    this.task = new PeriodicTask({
      intervalMs: opts.intervalMs,
      run: async () => {
        for (const p of opts.pipelines) {
          const events = opts.recorder.due(p);
          if (events.length > 0) await opts.recorder.publish(opts.publisher(), events, `${this.id}:${Date.now()}`);
        }
      },
      onError: (err) => opts.logger.warn({ err }, 'drift events not published; retrying'),
    });
  }

  start(): void {
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
  }
}

/**
 * Builds the context of one pull-source run: publish (message IDs from the source position),
 * dead-letter, cursors, the shared request budget and parent-stream reads. Used by the scheduler
 * for every run, and by tests (and the conformance suite) to run a source once without it.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { publishDeadLetter, type Publisher } from '@tributary/runtime/nats';
import { type Logger } from '@tributary/runtime/logger';
import { subjects } from '@tributary/contract/wire';
import { type Pipeline } from '@tributary/contract/spec';
import type { Registry } from 'prom-client';
import type { CursorStore, PullContext, SourceIngestor } from './pull-contract';
import { budgetKey, KvRequestBudget } from './request-budget';
import { readLastPublished, readPublishedRecords } from './stream-reader';

/** What every run of a replica shares. */
export interface PullContextDeps {
  ingestor: SourceIngestor;
  publisher: Publisher;
  js: JetStreamClient;
  /** KV bucket `trib_leases` (request budgets live there too). */
  leases: KV;
  registry: Registry;
}

/** The context of one run of `source`. */
export function buildPullContext(
  deps: PullContextDeps,
  run: {
    pipeline: Pipeline;
    source: string;
    cursors: CursorStore;
    signal: AbortSignal;
    logger: Logger;
    scheduledAt: number;
    runId: string;
    healthy: () => void;
  },
): PullContext {
  const { pipeline, source: name, signal } = run;
  const { ingestor, publisher } = deps;
  const spec = pipeline.sources[name] as { source_time?: string } | undefined;
  const configured = spec?.source_time ? { field: spec.source_time } : undefined;
  return {
    ...run,
    ingestor,
    metrics: deps.registry,
    takeBudget: async (identity, limit) => {
      await new KvRequestBudget(deps.leases, budgetKey(identity)).take(limit, signal);
    },
    holdBudget: (identity, until) => new KvRequestBudget(deps.leases, budgetKey(identity)).block(until),
    readRecords: (from, opts) => readPublishedRecords(deps.js, pipeline, from, { ...opts, signal }),
    lastPublished: () => readLastPublished(deps.js, pipeline.name, name),
    publish: (records, position, sourceTime = configured) => {
      // Checked before publishing: a run whose lease is gone must not publish under it.
      signal.throwIfAborted();
      return ingestor.ingest(pipeline, name, records, `${name}:${position}`, undefined, undefined, sourceTime);
    },
    deadLetter: async (item, position) => {
      signal.throwIfAborted();
      await publishDeadLetter(
        publisher,
        {
          pipeline: pipeline.name,
          stage: 'ingest',
          name,
          record: item.record as never,
          error: {
            code: item.code,
            message: item.message,
            ...(item.location ? { location: item.location } : {}),
            ...(item.details ? { details: item.details } : {}),
            ...(item.more ? { more: item.more } : {}),
          },
          attempts: 1,
          replaySubject: subjects.raw(pipeline.name, name),
          original: { msgId: `${name}:${position}` },
          ingestedAt: Date.now(),
          failedAt: new Date().toISOString(),
        },
        `${name}:${position}:dlq`,
      );
    },
  };
}

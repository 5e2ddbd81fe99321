/**
 * The shape of a source kind: a spec (zod, from core) and a factory that validates and touches
 * no network; `start` and `stop` do the I/O.
 */
import type { Logger } from '@tributary/runtime/logger';
import type { Pipeline } from '@tributary/contract/spec';
import type { z } from 'zod';
import type { IdempotencyStore } from '../idempotency-store';
import type { IngestResult, RecordIngestor } from '../record-ingestor';
import type { PullScheduler } from '../scheduling/pull-contract';

/** One HTTP request's body, as the route hands it over. */
export interface PushRequest {
  body: Buffer;
  contentType?: string;
  idempotencyKey?: string;
  /** The request's `Trib-Source-Time` header, as sent. */
  sourceTime?: string;
}

/** What a push source answered. */
export interface PushReply {
  result: IngestResult;
  /** The answer to an earlier request with the same Idempotency-Key (nothing ingested now). */
  replayed: boolean;
}

/** Ingests one pushed body. */
export type PushReceiver = (req: PushRequest) => Promise<PushReply>;

/** The HTTP intake the app serves: sources that receive records over HTTP register here. */
export interface HttpIntake {
  /** Routes pushed bodies of `pipeline`/`source` to `receiver`; the returned function stops that. */
  receive(pipeline: string, source: string, receiver: PushReceiver): () => void;
  /** The first reply to each Idempotency-Key. */
  idempotency: IdempotencyStore;
}

/** What a source gets to do its work. */
export interface SourceDeps {
  pipeline: Pipeline;
  name: string;
  ingestor: RecordIngestor;
  logger: Logger;
  /** Runs pull sources on their schedules under a lease; absent on replicas that run none. */
  scheduler?: PullScheduler;
  /** The HTTP intake (push sources); absent where no HTTP endpoint is served. */
  http?: HttpIntake;
}

/** A running source. */
export interface SourceHandle {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds a source from its parsed config. */
export type SourceFactory<S extends z.ZodType> = (config: z.output<S>, deps: SourceDeps) => SourceHandle;

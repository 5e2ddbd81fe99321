/**
 * The shape of a source kind: a spec (zod, from core) and a factory that validates and touches
 * no network; `start` and `stop` do the I/O.
 */
import type { Logger, Pipeline } from '@tributary/core';
import type { z } from 'zod';
import type { RecordIngestor } from '../record-ingestor';

/** What a source gets to do its work. */
export interface SourceDeps {
  pipeline: Pipeline;
  name: string;
  ingestor: RecordIngestor;
  logger: Logger;
}

/** A running source. */
export interface SourceHandle {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds a source from its parsed config. */
export type SourceFactory<S extends z.ZodType> = (config: z.output<S>, deps: SourceDeps) => SourceHandle;

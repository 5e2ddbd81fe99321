/**
 * The shape of a transform step: a spec (zod, from core) and a factory. A step maps one record
 * to a record, to `null` (filtered out), or throws a TributaryError (the record is dead-lettered).
 */
import type { Pipeline, Rec } from '@tributary/core';
import type { z } from 'zod';

/** What a step factory gets. */
export interface StepDeps {
  pipeline: Pipeline;
  dataset: string;
  /** Index of the step in the dataset's list, for error messages. */
  index: number;
  hmacKey: string;
}

/** A ready step. */
export interface Step {
  readonly kind: string;
  apply(record: Rec): Rec | null | Promise<Rec | null>;
}

/** Builds a step from its parsed config. */
export type StepFactory<S extends z.ZodType> = (config: z.output<S>, deps: StepDeps) => Step;

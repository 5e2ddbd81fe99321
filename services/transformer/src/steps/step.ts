/**
 * The shape of a transform step: a spec (zod, from core) and a factory. A per-record step maps
 * one record to a record, to `null` (filtered out), or throws a TributaryError (dead-lettered).
 * A batch step (`applyBatch`) sees the whole input batch of a dataset at once, with the input
 * message's ID: windows, dedupe and joins need that, and deriving every output and every state
 * change from (input ID, position) is what keeps them exact when a batch is redelivered.
 * Steps that talk to JetStream KV or the warehouse do it only after `open` (factories touch no network).
 */
import type { KV } from '@nats-io/kv';
import type { Pipeline, Rec, TributaryError } from '@tributary/core';
import type { Pool } from 'pg';
import type { z } from 'zod';

/** What a step factory gets. */
export interface StepDeps {
  pipeline: Pipeline;
  dataset: string;
  /** Index of the step in the dataset's list, for error messages. */
  index: number;
  hmacKey: string;
}

/** Connections a stateful step uses, handed over by `open`. */
export interface StepServices {
  /** The `trib_state` KV bucket (reference datasets, join buffers). */
  state?: KV;
  /** The `trib_dedupe` KV bucket (first record kept per key). */
  dedupe?: KV;
  /** The warehouse, for `enrich` from a table. */
  db?: Pool;
}

/** A record on its way through a dataset's steps, with its position in the dataset's input batch. */
export interface BatchItem {
  record: Rec;
  /** Index in the dataset's input batch; stable across redeliveries of the same input message. */
  index: number;
}

/** Where a batch comes from. */
export interface BatchContext {
  /** `Nats-Msg-Id` of the input message: deterministic, the same on every redelivery. */
  inputId: string;
  pipeline: string;
  dataset: string;
}

/** A record a step rejected. */
export interface StepFailure {
  index: number;
  record: Rec;
  error: TributaryError;
}

/** What a batch step did with a batch. */
export interface BatchOutcome {
  /** Records that go on to the next step, in order. */
  items: BatchItem[];
  /** Records dropped on purpose (counted as filtered). */
  filtered: number;
  failures: StepFailure[];
  /** `window`: input records aggregated into `items` (partial aggregate rows). */
  aggregated?: number;
  /** `route`: records sent to other datasets, by dataset name (counted as filtered here). */
  routed?: Map<string, Rec[]>;
}

/** A ready step: `apply` (per record), or `applyBatch` (per batch), or both. */
export interface Step {
  readonly kind: string;
  apply?(record: Rec): Rec | null | Promise<Rec | null>;
  applyBatch?(items: BatchItem[], ctx: BatchContext): Promise<BatchOutcome>;
  /** Which services the step needs, so the app connects only what is used. */
  readonly needs?: readonly (keyof StepServices)[];
  /** Connects the step to its services; called once before the first batch. */
  open?(services: StepServices): Promise<void>;
  close?(): Promise<void>;
}

/** Builds a step from its parsed config. */
export type StepFactory<S extends z.ZodType> = (config: z.output<S>, deps: StepDeps) => Step;

/**
 * The shape of a transform step: a spec (zod, from core) and a factory. A per-record step maps
 * one record to a record, to `null` (filtered out), or throws a TributaryError (dead-lettered).
 * A batch step (`applyBatch`) sees the whole input batch of a dataset at once, with the input
 * message's ID: windows, dedupe and joins need that, and deriving every output and every state
 * change from (input ID, position) is what keeps them exact when a batch is redelivered.
 * Steps that talk to JetStream KV or the warehouse do it only after `open` (factories touch no network).
 */
import type { KV } from '@nats-io/kv';
import type { Pipeline } from '@tributary/contract/spec';
import type { Rec } from '@tributary/contract/codec';
import type { TributaryError } from '@tributary/contract/errors';
import type { Pool } from 'pg';
import type { z } from 'zod';
import type { ModelChange } from '../models/onnx-model';
import type { BatchReferences } from '../state/batch-references';

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
  /** The `trib_join` KV bucket (records waiting for partners, partners). */
  join?: KV;
  /** The `trib_windows` KV bucket (`sliding` and `session` state per key). */
  windows?: KV;
  /** The warehouse, for `enrich` from a table. */
  db?: Pool;
  /** `model`: told when a model file replaced on disk was loaded or rejected (logged and counted by the app). */
  onModelChange?: (change: ModelChange) => void;
}

/** A record on its way through a dataset's steps, with its position in the dataset's input batch. */
export interface BatchItem {
  record: Rec;
  /** Index in the dataset's input batch; stable across redeliveries of the same input message. */
  index: number;
  /** The source or dataset (of this dataset's `from`) the record came from. */
  from?: string;
}

/** Where a batch comes from. */
export interface BatchContext {
  /** `Nats-Msg-Id` of the input message: deterministic, the same on every redelivery. */
  inputId: string;
  pipeline: string;
  dataset: string;
  /** The source of the input message (for dead letters of records a step releases later). */
  source?: string;
  /** Records in the dataset's input batch: positions from here on are free for records a step adds. */
  size?: number;
  /** The oldest source time of the batch's inputs (`Trib-Source-Time`), when they have one. */
  sourceTime?: string;
  /** Rows reference datasets produced earlier in this input batch (`enrich` from a dataset reads them first). */
  references?: BatchReferences;
  /** The items' `index` is their position in the source batch (the dataset reads the source directly). */
  sourceOrder?: boolean;
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
  /** `emit`: records to publish as events, by event name. */
  events?: Map<string, Rec[]>;
  /** `model`: identities of the models that scored records of the batch (sent as `Trib-Model`). */
  models?: string[];
  /**
   * Joins and sessions: the oldest source time of records of earlier batches that went into
   * `items` (the oldest input wins, docs/design.md, Wire contract, Source time).
   */
  sourceTime?: string;
}

/**
 * Records a stateful step releases on its own clock rather than in answer to a batch: a join's
 * records whose wait ended, sessions of keys that went idle. The step has already recorded the
 * release in its state (so no batch can claim those records any more); the caller runs the
 * dataset's later steps on `items`, publishes the result under IDs derived from `id`, then calls
 * `confirm` so the step forgets them. A crash before `confirm` releases the same `id` again.
 */
export interface Release {
  /** Deterministic: the same release always has this ID. */
  id: string;
  items: BatchItem[];
  filtered: number;
  failures: StepFailure[];
  /** When the records were first seen (for freshness). */
  ingestedAt: number;
  /** The oldest source time of the records behind the release, when they had one. */
  sourceTime?: string;
  /** The source the records came from, when known. */
  source?: string;
  confirm(): Promise<void>;
}

/** A ready step: `apply` (per record), or `applyBatch` (per batch), or both. */
export interface Step {
  readonly kind: string;
  apply?(record: Rec): Rec | null | Promise<Rec | null>;
  applyBatch?(items: BatchItem[], ctx: BatchContext): Promise<BatchOutcome>;
  /** `validate`: `<kind>:<fingerprint>` of its schema, sent as `Trib-Schema-Fingerprint` with the dataset. */
  readonly fingerprint?: string;
  /** Which services the step needs, so the app connects only what is used. */
  readonly needs?: readonly (keyof StepServices)[];
  /** Connects the step to its services; called once before the first batch. */
  open?(services: StepServices): Promise<void>;
  /** Stateful steps: what the clock releases now (join timeouts, idle sessions); see `Release`. */
  release?(now: number): Promise<Release[]>;
  close?(): Promise<void>;
}

/** Builds a step from its parsed config. */
export type StepFactory<S extends z.ZodType> = (config: z.output<S>, deps: StepDeps) => Step;

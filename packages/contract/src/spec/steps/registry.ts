/**
 * Config shapes of the transform steps. A step is written in YAML as a one-key object
 * (`- filter: "speed_kmh > 0"`). Each step's implementation (transformer `steps/<name>.ts`)
 * re-exports its shape as `spec`; a registry test checks that both lists agree.
 */
import { z } from 'zod';
import { duration, fieldType, identifier } from './common';
import { modelStepSpec } from './model-step';
import { emitStepSpec, joinStepSpec, sessionStepSpec, slidingStepSpec } from './stateful-steps';
import { windowStepSpec } from './window';

/** Schema languages a `validate` step (and a source's `schema`) can use. */
export const schemaKind = z.enum(['json_schema', 'avro', 'protobuf']);

const expression = z.string().min(1).meta({ description: 'A JSONata expression evaluated against the record.' });

/** Config of each step, keyed by the step's YAML name. */
export const STEP_SPECS = {
  validate: z
    .strictObject({
      schema: z.string().meta({
        description:
          'Schema file, relative to the pipeline file: JSON Schema (`.json`), Avro (`.avsc`) or Protobuf (`.proto`), by extension unless `kind` says.',
      }),
      kind: schemaKind.optional().meta({ description: 'The schema language, when the file extension does not say it.' }),
      message: z.string().optional().meta({
        description: 'Protobuf: the message type records must be (e.g. `shop.v1.Transaction`); needed when the file has several.',
      }),
    })
    .meta({
      description:
        'Dead-letters records that do not satisfy a schema (JSON Schema, Avro or Protobuf), with the failing field and reason; Avro and Protobuf also decode (convert) values to the schema types. The schema fingerprint rides in the `Trib-Schema-Fingerprint` header.',
    }),
  map: z.record(identifier, expression).meta({
    description:
      'Sets fields to the value of JSONata expressions evaluated on the input record (all see the record as it was before this step). Functions: $hmac(value).',
  }),
  filter: expression.meta({ description: 'Keeps records for which the JSONata expression is truthy; others are counted as filtered.' }),
  rename: z.record(z.string(), identifier).meta({ description: 'Renames fields: `{ old_name: new_name }`.' }),
  cast: z
    .record(identifier, fieldType)
    .meta({ description: 'Converts fields to a type; a value that cannot be converted dead-letters the record.' }),
  drop: z.array(z.string()).min(1).meta({ description: 'Removes fields.' }),
  window: windowStepSpec,
  dedupe: z
    .strictObject({
      key: z.array(z.string().min(1)).min(1).meta({ description: 'Fields that identify a repeat.' }),
      within: duration.default(24 * 3_600_000).meta({
        description: 'A record is a repeat when a record with the same key was kept less than this long before it (by `time`).',
      }),
      time: z
        .string()
        .optional()
        .meta({ description: 'Event-time field measuring `within`; the time the record is first processed when unset.' }),
    })
    .meta({
      description:
        'Drops repeats of a key (counted as filtered), across batches, replicas and restarts: the first record kept per key is recorded in JetStream KV with compare-and-set.',
    }),
  route: z
    .record(identifier, expression)
    .refine((r) => Object.keys(r).length > 0, 'name at least one target dataset')
    .meta({
      description:
        'Sends each record to the first target dataset whose JSONata condition holds (`{ speeding: "speed_kmh > 130" }`); targets list this dataset in `from`. Routed records leave this dataset (counted as filtered here); the rest stay.',
    }),
  enrich: z
    .strictObject({
      from: z
        .union([
          z.strictObject({ table: identifier.meta({ description: 'Warehouse table (schema `warehouse`).' }) }),
          z.strictObject({
            dataset: identifier.meta({ description: 'A dataset of this pipeline, kept current in JetStream KV by the transformer.' }),
          }),
        ])
        .meta({ description: 'Reference data: `{ table: dim_card }` or `{ dataset: venues }`.' }),
      on: z
        .record(z.string().min(1), identifier)
        .refine((o) => Object.keys(o).length > 0, 'name at least one field')
        .meta({ description: 'Record field to reference field: `{ card_id: card_id }`.' }),
      fields: z
        .record(identifier, identifier)
        .refine((f) => Object.keys(f).length > 0, 'name at least one field')
        .meta({ description: 'Fields to add: `{ new_name: reference_field }`.' }),
      on_miss: z.enum(['keep', 'drop', 'dead_letter', 'retry']).default('keep').meta({
        description:
          'No reference row: `keep` (fields null), `drop` (counted as filtered), `dead_letter`, or `retry` (the batch waits and is retried, for reference data that arrives later).',
      }),
      cache_ttl: duration.default(60_000).meta({ description: 'How long a looked-up row (or miss) is reused.' }),
      cache_size: z.number().int().min(0).default(10_000).meta({ description: 'Rows kept in the cache.' }),
    })
    .meta({ description: 'Adds fields from reference data looked up by key, with a cache.' }),
  join: joinStepSpec,
  sliding: slidingStepSpec,
  session: sessionStepSpec,
  emit: emitStepSpec,
  model: modelStepSpec,
  code: z
    .strictObject({
      module: z.string().min(1).meta({ description: 'JavaScript (CommonJS) module, relative to the pipeline file.' }),
      options: z.record(z.string(), z.unknown()).default({}).meta({ description: "Passed to the module's `create(options)`." }),
    })
    .meta({
      description:
        'Custom logic in a module exporting `apply(record)` (record, null to filter, or throw to dead-letter) or `create(options)` returning `{ apply }` or `{ applyBatch }`.',
    }),
} as const;

/** The name of a step kind. */
export type StepKind = keyof typeof STEP_SPECS;

/** A step: an object with exactly one key, the step kind. */
export const stepSpec = z.union(
  (Object.keys(STEP_SPECS) as StepKind[]).map((kind) =>
    z.strictObject({ [kind]: STEP_SPECS[kind] }).meta({ title: `${kind} step` }),
  ) as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]],
);

/** A parsed step: `{ kind, config }`. */
export type StepSpec = { [K in StepKind]: { kind: K; config: z.output<(typeof STEP_SPECS)[K]> } }[StepKind];

/** Turns the one-key YAML form into `{ kind, config }`. */
export function normaliseStep(step: Record<string, unknown>): StepSpec {
  const [kind] = Object.keys(step) as StepKind[];
  return { kind: kind!, config: step[kind!] } as StepSpec;
}

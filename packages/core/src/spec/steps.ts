/**
 * Config shapes of the transform steps. A step is written in YAML as a one-key object
 * (`- filter: "speed_kmh > 0"`). Each step's implementation (transformer `steps/<name>.ts`)
 * re-exports its shape as `spec`; a registry test checks that both lists agree.
 */
import { z } from 'zod';
import { fieldType, identifier } from './common';

const expression = z.string().min(1).meta({ description: 'A JSONata expression evaluated against the record.' });

/** Config of each step, keyed by the step's YAML name. */
export const STEP_SPECS = {
  validate: z
    .strictObject({
      schema: z.string().meta({ description: 'JSON Schema file, relative to the pipeline file.' }),
    })
    .meta({ description: 'Dead-letters records that do not satisfy a JSON Schema, naming the failing field.' }),
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

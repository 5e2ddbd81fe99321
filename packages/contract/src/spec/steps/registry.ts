/**
 * The registry of transform step kinds, one file per kind beside it (`steps/<kind>.ts`). A step is written in YAML as a one-key object
 * (`- filter: "speed_kmh > 0"`). Each step's implementation (transformer `steps/<name>.ts`)
 * re-exports its shape as `spec`; a registry test checks that both lists agree.
 */
import { z } from 'zod';
import { modelStepSpec } from './model';
import { emitStepSpec } from './emit';
import { joinStepSpec } from './join';
import { sessionStepSpec } from './session';
import { slidingStepSpec } from './sliding';
import { windowStepSpec } from './window';
import { validateStepSpec } from './validate';
import { mapStepSpec } from './map';
import { filterStepSpec } from './filter';
import { renameStepSpec } from './rename';
import { castStepSpec } from './cast';
import { dropStepSpec } from './drop';
import { dedupeStepSpec } from './dedupe';
import { routeStepSpec } from './route';
import { enrichStepSpec } from './enrich';
import { codeStepSpec } from './code';

/** Config of each step, keyed by the step's YAML name. */
export const STEP_SPECS = {
  validate: validateStepSpec,
  map: mapStepSpec,
  filter: filterStepSpec,
  rename: renameStepSpec,
  cast: castStepSpec,
  drop: dropStepSpec,
  window: windowStepSpec,
  dedupe: dedupeStepSpec,
  route: routeStepSpec,
  enrich: enrichStepSpec,
  join: joinStepSpec,
  sliding: slidingStepSpec,
  session: sessionStepSpec,
  emit: emitStepSpec,
  model: modelStepSpec,
  code: codeStepSpec,
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

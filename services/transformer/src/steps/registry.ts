/**
 * The transform steps, by YAML name. A test checks this list against core's STEP_SPECS and the
 * files in this folder; the type below checks each module's shape, so `createStep` needs no cast.
 */
import type { STEP_SPECS } from '@tributary/contract/spec';
import type { z } from 'zod';
import * as cast from './cast';
import * as code from './code';
import * as dedupe from './dedupe';
import * as drop from './drop';
import * as emit from './emit';
import * as enrich from './enrich';
import * as filter from './filter';
import * as join from './join';
import * as map from './map';
import * as model from './model';
import * as rename from './rename';
import * as route from './route';
import * as session from './session';
import * as sliding from './sliding';
import * as validate from './validate';
import * as window from './window';
import type { Step, StepDeps, StepFactory } from './step';

type Specs = typeof STEP_SPECS;

/** Every step implementation. */
export const STEPS: { readonly [K in keyof Specs]: { spec: Specs[K]; create: StepFactory<Specs[K]> } } = {
  validate,
  map,
  filter,
  rename,
  cast,
  drop,
  window,
  dedupe,
  route,
  enrich,
  code,
  join,
  sliding,
  session,
  emit,
  model,
};

/** Builds a step from its parsed `{ kind, config }`. */
export function createStep<K extends keyof Specs>(step: { kind: K; config: z.output<Specs[K]> }, deps: StepDeps): Step {
  const create: StepFactory<Specs[K]> = STEPS[step.kind].create;
  return create(step.config, deps);
}

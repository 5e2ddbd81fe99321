/**
 * `drop`: removes fields.
 */
import { STEP_SPECS } from '@tributary/contract/spec';
import type { StepFactory } from './step';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.drop;

/** Creates the step. */
export const create: StepFactory<typeof spec> = (config) => ({
  kind: 'drop',
  apply(record) {
    const out = { ...record };
    for (const f of config) delete out[f];
    return out;
  },
});

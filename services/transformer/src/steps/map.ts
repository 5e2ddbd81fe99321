/**
 * `map`: sets fields to JSONata expressions evaluated on the record as it was before the step.
 */
import { STEP_SPECS } from '@tributary/core';
import { compileExpression } from './expression';
import type { StepFactory } from './step';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.map;

/** Creates the step, compiling every expression once. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  const exprs = Object.entries(config).map(
    ([field, source]) =>
      [field, compileExpression(source, `datasets.${deps.dataset}.steps[${deps.index}].map.${field}`, deps.hmacKey)] as const,
  );
  return {
    kind: 'map',
    async apply(record) {
      const out = { ...record };
      for (const [field, expr] of exprs) {
        const v = await expr.evaluate(record);
        if (v === undefined) delete out[field];
        else out[field] = v;
      }
      return out;
    },
  };
};

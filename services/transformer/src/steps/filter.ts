/**
 * `filter`: keeps records for which the expression is truthy; the rest are counted as filtered.
 */
import { STEP_SPECS } from '@tributary/contract/spec';
import { compileExpression } from '@tributary/contract/expressions';
import type { StepFactory } from './step';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.filter;

/** Creates the step. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  const expr = compileExpression(config, `datasets.${deps.dataset}.steps[${deps.index}].filter`, deps.hmacKey);
  return {
    kind: 'filter',
    apply(record) {
      const v = expr.evaluate(record);
      if (v instanceof Promise) return v.then((x) => (x ? record : null));
      return v ? record : null;
    },
  };
};

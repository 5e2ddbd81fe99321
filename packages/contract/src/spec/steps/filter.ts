/** The `filter` step's config: keeps records for which an expression holds (implemented by the transformer's `steps/filter.ts`). */
import { jsonataExpression as expression } from '../common';

/** Config of the `filter` step. */
export const filterStepSpec = expression.meta({
  description: 'Keeps records for which the JSONata expression is truthy; others are counted as filtered.',
});

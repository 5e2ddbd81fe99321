/** The `map` step's config: fields set from JSONata expressions (implemented by the transformer's `steps/map.ts`). */
import { z } from 'zod';
import { identifier, jsonataExpression as expression } from '../common';

/** Config of the `map` step. */
export const mapStepSpec = z.record(identifier, expression).meta({
  description:
    'Sets fields to the value of JSONata expressions evaluated on the input record (all see the record as it was before this step). Functions: $hmac(value).',
});

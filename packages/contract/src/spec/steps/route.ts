/** The `route` step's config: sends records to the first target dataset whose condition holds (implemented by the transformer's `steps/route.ts`). */
import { z } from 'zod';
import { identifier, jsonataExpression as expression } from '../common';

/** Config of the `route` step. */
export const routeStepSpec = z
  .record(identifier, expression)
  .refine((r) => Object.keys(r).length > 0, 'name at least one target dataset')
  .meta({
    description:
      'Sends each record to the first target dataset whose JSONata condition holds (`{ speeding: "speed_kmh > 130" }`); targets list this dataset in `from`. Routed records leave this dataset (counted as filtered here); the rest stay.',
  });

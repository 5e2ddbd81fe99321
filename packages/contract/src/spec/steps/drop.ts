/** The `drop` step's config: removes fields (implemented by the transformer's `steps/drop.ts`). */
import { z } from 'zod';

/** Config of the `drop` step. */
export const dropStepSpec = z.array(z.string()).min(1).meta({ description: 'Removes fields.' });

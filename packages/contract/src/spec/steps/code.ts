/** The `code` step's config: custom logic in a JavaScript module (implemented by the transformer's `steps/code.ts`). */
import { z } from 'zod';

/** Config of the `code` step. */
export const codeStepSpec = z
  .strictObject({
    module: z.string().min(1).meta({ description: 'JavaScript (CommonJS) module, relative to the pipeline file.' }),
    options: z.record(z.string(), z.unknown()).default({}).meta({ description: "Passed to the module's `create(options)`." }),
  })
  .meta({
    description:
      'Custom logic in a module exporting `apply(record)` (record, null to filter, or throw to dead-letter) or `create(options)` returning `{ apply }` or `{ applyBatch }`.',
  });

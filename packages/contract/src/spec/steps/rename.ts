/** The `rename` step's config: renames fields (implemented by the transformer's `steps/rename.ts`). */
import { z } from 'zod';
import { identifier } from '../common';

/** Config of the `rename` step. */
export const renameStepSpec = z.record(z.string(), identifier).meta({ description: 'Renames fields: `{ old_name: new_name }`.' });

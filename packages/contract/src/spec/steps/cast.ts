/** The `cast` step's config: converts fields to a type (implemented by the transformer's `steps/cast.ts`). */
import { z } from 'zod';
import { fieldType, identifier } from '../common';

/** Config of the `cast` step. */
export const castStepSpec = z
  .record(identifier, fieldType)
  .meta({ description: 'Converts fields to a type; a value that cannot be converted dead-letters the record.' });

/** What every table declaration has, whatever its load mode: the dataset it loads and the storage options. */
import { z } from 'zod';
import { identifier } from './common';
import { indexOptions, partitionOptions } from './table-storage';

/** `from` and `description`, first in every mode's shape. */
export const tableBase = {
  from: identifier.meta({ description: 'The dataset whose records this table receives.' }),
  description: z.string().optional(),
};

/** Storage options (table-storage.ts), after each mode's own fields. */
export const tableStorage = { ...partitionOptions, ...indexOptions };

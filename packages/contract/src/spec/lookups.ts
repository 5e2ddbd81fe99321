/** Dimension lookups (`lookups:` of a fact table): surrogate-key columns filled from scd2 dimensions at load. */
import { z } from 'zod';
import { identifier } from './common';

/** `lookups:` of a fact table: surrogate-key columns filled from scd2 dimensions at load. */
export const lookupsSpec = z
  .record(
    identifier,
    z.strictObject({
      dimension: identifier.meta({ description: 'An `scd2` table of this pipeline.' }),
      on: z
        .record(identifier, identifier)
        .refine((m) => Object.keys(m).length > 0, 'map at least one field')
        .meta({
          description: "Fact field -> dimension key column, covering the dimension's whole `key`, e.g. `{ sales_staff_id: staff_id }`.",
        }),
      at: identifier.optional().meta({
        description:
          'Event-time field of the fact: the key of the dimension version valid at that time is taken. Without it, the current version.',
      }),
    }),
  )
  .meta({
    description:
      'Surrogate-key columns, by name, looked up in scd2 dimensions when the fact is loaded. A fact whose dimension member does not exist yet gets an inferred member (key only, `is_inferred`), filled in when the member arrives.',
  });

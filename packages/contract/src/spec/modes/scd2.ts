/**
 * Config shapes of the dimensional load modes (`scd2`, `accumulating`) and of dimension lookups
 * (facts carrying the surrogate key of a type-2 dimension). `tables.ts` lists them in MODE_SPECS.
 */
import { z } from 'zod';
import { identifier } from './common';
import { indexOptions, partitionOptions } from './table-storage';

const from = identifier.meta({ description: 'The dataset whose records this table receives.' });

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

/** `scd2`: type-2 slowly changing dimension. */
export const scd2Spec = z
  .strictObject({
    from,
    description: z.string().optional(),
    mode: z.literal('scd2'),
    key: z.array(identifier).min(1).meta({ description: 'Natural key of a dimension member.' }),
    track: z.array(identifier).min(1).optional().meta({
      description:
        'Columns whose change opens a new version (compared NULL-safely). Default: every field except the key, `valid_from` and the delete field. Other columns are updated in place (type 1) with the latest record of the version.',
    }),
    valid_from: identifier.optional().meta({
      description:
        'Event-time field (timestamp or date) at which each record became true: versions are ordered by it, so records may arrive out of order. Without it, the load time.',
    }),
    surrogate_key: identifier
      .optional()
      .meta({ description: 'Name of the surrogate key column, one value per version. Default `<table>_sk`.' }),
    deletes: z
      .strictObject({
        field: identifier.meta({ description: 'Field that marks a record as a delete of its member.' }),
        value: z.union([z.string(), z.number(), z.boolean()]).default(true).meta({ description: 'Value of `field` that means deleted.' }),
        action: z.enum(['close', 'ignore']).default('close').meta({
          description:
            '`close`: the current version ends and a deletion marker (`is_deleted`) is kept; `ignore`: delete records change nothing.',
        }),
      })
      .optional(),
    ...indexOptions,
  })
  .meta({
    title: 'scd2',
    description:
      'Type-2 dimension: a change in tracked columns closes the current version (`valid_to`) and opens a new one with its own surrogate key; unchanged records change nothing. At most one current row per key (`is_current`), enforced by a partial unique index.',
  });

/** Merge rule of one column of an accumulating snapshot. */
export const accumulateRule = z.enum(['latest', 'earliest', 'min', 'max', 'sum']);

/** `accumulating`: accumulating snapshot fact. */
export const accumulatingSpec = z
  .strictObject({
    from,
    description: z.string().optional(),
    mode: z.literal('accumulating'),
    key: z.array(identifier).min(1).meta({ description: 'The process instance (e.g. the order), one row each.' }),
    order_by: identifier.optional().meta({
      description:
        'Event order field (timestamp, date or integer): `latest` takes the value of the newest event, `earliest` of the oldest, whatever the arrival order. Without it, arrival order.',
    }),
    columns: z.record(identifier, accumulateRule).default({}).meta({
      description:
        'Merge rule per column: `latest` (default), `earliest`, `min`, `max` (milestones: e.g. `delivered_at: min`), `sum`. A NULL in an event never overwrites a value.',
    }),
    lookups: lookupsSpec.optional(),
    ...partitionOptions,
    ...indexOptions,
  })
  .meta({
    title: 'accumulating',
    description: 'Accumulating snapshot fact: one row per process instance whose milestone columns fill in as events arrive, in any order.',
  });

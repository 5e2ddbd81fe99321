/** The `scd2` load mode's table config: a type-2 slowly changing dimension (loader `modes/scd2.ts`). */
import { z } from 'zod';
import { identifier } from '../common';
import { tableBase } from '../table-base';
import { indexOptions } from '../table-storage';

/** `scd2`: type-2 slowly changing dimension. */
export const scd2Spec = z
  .strictObject({
    ...tableBase,
    mode: z.literal('scd2'),
    key: z.array(identifier).min(1).meta({ description: 'Natural key of a dimension member.' }),
    track: z.array(identifier).min(1).optional().meta({
      unset: 'every field but the key, `valid_from` and the delete field',
      description:
        'Columns whose change opens a new version (compared NULL-safely). Default: every field except the key, `valid_from` and the delete field. Other columns are updated in place (type 1) with the latest record of the version.',
    }),
    valid_from: identifier.optional().meta({
      unset: 'the load time',
      description:
        'Event-time field (timestamp or date) at which each record became true: versions are ordered by it, so records may arrive out of order. Without it, the load time.',
    }),
    surrogate_key: identifier
      .optional()
      .meta({ unset: '`<table>_sk`', description: 'Name of the surrogate key column, one value per version. Default `<table>_sk`.' }),
    deletes: z
      .strictObject({
        field: identifier.meta({ description: 'Field that marks a record as a delete of its member.' }),
        value: z.union([z.string(), z.number(), z.boolean()]).default(true).meta({ description: 'Value of `field` that means deleted.' }),
        action: z.enum(['close', 'ignore']).default('close').meta({
          description:
            '`close`: the current version ends and a deletion marker (`is_deleted`) is kept; `ignore`: delete records change nothing.',
        }),
      })
      .optional()
      .meta({
        unset: 'no deletes',
        description:
          'Delete records of a member: a record whose `field` equals `value` is a deletion (unset: every record is a new version, none deletes).',
      }),
    ...indexOptions,
  })
  .meta({
    title: 'scd2',
    description:
      'Type-2 dimension: a change in tracked columns closes the current version (`valid_to`) and opens a new one with its own surrogate key; unchanged records change nothing. At most one current row per key (`is_current`), enforced by a partial unique index.',
  });

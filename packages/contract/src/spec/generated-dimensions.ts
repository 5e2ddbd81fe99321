/**
 * The `dimensions:` section of a pipeline: generated dimensions (a calendar `date` dimension and a
 * `time_of_day` dimension) that `migrate` creates and fills (the SQL is the warehouse's `calendar.ts`).
 */
import { z } from 'zod';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD');

/** A generated dimension. */
export const generatedDimensionSpec = z.discriminatedUnion('kind', [
  z
    .strictObject({
      kind: z.literal('date'),
      start: isoDate.default('2015-01-01').meta({ description: 'First date (YYYY-MM-DD).' }),
      end: isoDate.default('2035-12-31').meta({ description: 'Last date (YYYY-MM-DD).' }),
      description: z.string().optional(),
    })
    .meta({
      title: 'date dimension',
      description:
        'One row per day: `date_id` (date, key), year, quarter, month, month_name, year_month, day, day_of_week (ISO, Monday 1), day_name, week_of_year, is_weekend.',
    }),
  z
    .strictObject({
      kind: z.literal('time_of_day'),
      grain: z.enum(['minute', 'second']).default('minute').meta({ description: 'One row per minute (1,440) or second (86,400).' }),
      description: z.string().optional(),
    })
    .meta({
      title: 'time of day dimension',
      description:
        'One row per minute (or second) of a day: `time_id` (time, key), hour, minute, second, am_pm, day_part (night, morning, afternoon, evening).',
    }),
]);

/** A parsed generated dimension. */
export type GeneratedDimension = z.output<typeof generatedDimensionSpec>;

/** `dimensions:` of a pipeline, by table name. */
export const generatedDimensionsSpec = z
  .record(
    z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower snake_case: a letter, then letters, digits or _ (max 63)'),
    generatedDimensionSpec,
  )
  .default({})
  .meta({ description: 'Generated dimensions by table name: a calendar (`kind: date`) and a time of day (`kind: time_of_day`).' });

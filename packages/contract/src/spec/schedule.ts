/**
 * When a pull source runs. Shared by every pull source kind (rest, postgres_cdc, postgres_poll,
 * file, object_store); the ingest-api's scheduler (`services/ingest-api/src/scheduling`) reads it.
 */
import { z } from 'zod';
import { duration } from './common';

/** `schedule:` of a pull source: an interval, or a cron expression (croner syntax). */
export const pullScheduleSpec = z
  .union([
    z
      .strictObject({
        every: duration.meta({ description: 'Run this long after the previous run was due, e.g. `15m`.' }),
      })
      .meta({ title: 'interval' }),
    z
      .strictObject({
        cron: z.string().min(1).meta({ description: 'Cron expression (5 or 6 fields, seconds optional), e.g. `0 */6 * * *`.' }),
        timezone: z.string().optional().meta({ unset: 'UTC', description: 'IANA time zone of the cron expression; UTC when unset.' }),
      })
      .meta({ title: 'cron' }),
  ])
  .meta({
    description:
      'When the source runs. One ingest-api replica at a time runs it (a lease in JetStream KV); a run that fails is retried with backoff. Without `schedule` a pull source runs continuously.',
  });

/** A parsed schedule: `every` in milliseconds, or a cron expression. */
export type PullScheduleSpec = z.output<typeof pullScheduleSpec>;

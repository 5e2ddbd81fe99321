/** The `dedupe` step's config: drops repeats of a key across batches, replicas and restarts (implemented by the transformer's `steps/dedupe.ts`). */
import { z } from 'zod';
import { duration } from '../common';

/** Config of the `dedupe` step. */
export const dedupeStepSpec = z
  .strictObject({
    key: z.array(z.string().min(1)).min(1).meta({ description: 'Fields that identify a repeat.' }),
    within: duration.default(24 * 3_600_000).meta({
      description: 'A record is a repeat when a record with the same key was kept less than this long before it (by `time`).',
    }),
    time: z.string().optional().meta({
      unset: 'first processing time',
      description: 'Event-time field measuring `within`; the time the record is first processed when unset.',
    }),
  })
  .meta({
    description:
      'Drops repeats of a key (counted as filtered), across batches, replicas and restarts: the first record kept per key is recorded in JetStream KV with compare-and-set.',
  });

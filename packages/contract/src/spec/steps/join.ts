/** Config shape of the `join` step (stream-to-stream, within a time bound); state in JetStream KV (transformer `steps/join.ts`). */
import { z } from 'zod';
import { duration, identifier } from '../common';

const fieldName = z.string().min(1);

/** Config of the `join` step. */
export const joinStepSpec = z
  .strictObject({
    with: identifier.meta({
      description:
        "The partner stream: a dataset or source listed in this dataset's `from`. Its records are held as partners (and leave this dataset, counted as filtered); the other inputs are the records that get joined.",
    }),
    on: z
      .record(fieldName, fieldName)
      .refine((o) => Object.keys(o).length > 0, 'name at least one field')
      .meta({ description: 'Record field to partner field, compared as text: `{ venue_id: venue_id }`.' }),
    time: fieldName.meta({ description: 'Event-time field of the records being joined (ISO 8601 or epoch ms).' }),
    partner_time: fieldName.meta({ description: "The partner's event-time field." }),
    within: duration.meta({
      description:
        'Partners match when their event times differ by at most this. A record arriving after its partners takes the nearest one; a record that waits takes the first partner to arrive.',
    }),
    fields: z
      .record(identifier, fieldName)
      .refine((f) => Object.keys(f).length > 0, 'name at least one field')
      .meta({ description: 'Partner fields to add: `{ new_name: partner_field }`.' }),
    wait: duration.default(3_600_000).meta({
      description: 'How long (processing time, from its arrival) a record without a partner is held before `on_timeout` applies.',
    }),
    on_timeout: z.enum(['emit', 'drop', 'dead_letter']).default('emit').meta({
      description:
        'A record whose wait ended without a partner: `emit` it with null partner fields, `drop` it (counted as filtered), or `dead_letter` it.',
    }),
    keep_partners: duration.default(86_400_000).meta({
      description: 'How long (processing time) a partner is kept for records that arrive after it.',
    }),
  })
  .superRefine((j, ctx) => {
    if (j.wait <= 0) ctx.addIssue({ code: 'custom', path: ['wait'], message: 'must be positive' });
  })
  .meta({
    description:
      'Stream-to-stream join within a time bound (an event with the weather at its venue around its start). Records waiting for a partner, and partners, are held in the `trib_join` KV bucket: matched across batches, restarts and replicas, and timed out to `on_timeout`.',
  });

/** A parsed join config. */
export type JoinConfig = z.output<typeof joinStepSpec>;

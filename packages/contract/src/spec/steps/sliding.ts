/** Config shape of the `sliding` step (a look-back per record); state in JetStream KV (transformer `steps/sliding.ts`). */
import { z } from 'zod';
import { duration, identifier } from '../common';
import { aggregateExpr } from './window';

const fieldName = z.string().min(1);

/** Config of the `sliding` step. */
export const slidingStepSpec = z
  .strictObject({
    size: duration.meta({ description: 'Look-back of each window: the records of the key with event time in (t - size, t].' }),
    time: fieldName.meta({ description: 'Event-time field (ISO 8601 or epoch ms); a record without it is dead-lettered.' }),
    key: z.array(fieldName).min(1).meta({ description: 'Fields that identify the key (e.g. `[card_id]`).' }),
    aggregate: z
      .record(identifier, aggregateExpr)
      .default({})
      .meta({ description: 'Fields added to each record, e.g. `{ tx_10m: count(), amount_10m: sum(amount) }` (avg, min and max too).' }),
    previous: z.record(identifier, fieldName).default({}).meta({
      description:
        "Fields added from the key's previous record in the look-back (latest event time before this one): `{ prev_lat: lat }`; null when there is none.",
    }),
    include_current: z.boolean().default(true).meta({
      description: 'Whether the record itself counts in its own aggregates (false: compare a record with the ones before it).',
    }),
    allowed_lateness: duration.default(0).meta({
      description:
        'Records older than the newest of their key by up to this still see their full look-back (state is kept that much longer).',
    }),
  })
  .superRefine((s, ctx) => {
    if (s.size <= 0) ctx.addIssue({ code: 'custom', path: ['size'], message: 'must be positive' });
    if (Object.keys(s.aggregate).length + Object.keys(s.previous).length === 0) {
      ctx.addIssue({ code: 'custom', message: 'declare at least one field in `aggregate` or `previous`' });
    }
    for (const [name, agg] of Object.entries(s.aggregate)) {
      if (agg.fn !== 'count' && !agg.field)
        ctx.addIssue({ code: 'custom', path: ['aggregate', name], message: `${agg.fn}() needs a field` });
      if (name in s.previous) ctx.addIssue({ code: 'custom', path: ['previous', name], message: `"${name}" is also an aggregate` });
    }
  })
  .meta({
    description:
      "Per-record look-back window (this card's transactions in the last 10 minutes): adds aggregates over the key's records in (t - size, t] and fields of the key's previous record. State per key lives in the `trib_windows` KV bucket, updated with compare-and-set.",
  });

/** A parsed sliding config. */
export type SlidingConfig = z.output<typeof slidingStepSpec>;

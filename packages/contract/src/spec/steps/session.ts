/**
 * Config shapes of the steps whose state outlives a batch, kept in JetStream KV by the
 * transformer: `join` (stream-to-stream, within a time bound), `sliding` (a look-back per record)
 * and `session` (gap-based windows), plus the derived fields of a session dataset. The
 * implementations (transformer `steps/<name>.ts`) say how they stay exact under redelivery and
 * with several replicas.
 */
import { z } from 'zod';
import { duration, identifier, type FieldDef, type FieldType } from './common';
import { aggregateExpr, aggregateType } from './window';

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

/** Config of the `session` step. */
export const sessionStepSpec = z
  .strictObject({
    gap: duration.meta({ description: 'A session ends when its key has no record for this long (event time).' }),
    time: fieldName.meta({ description: 'Event-time field (ISO 8601 or epoch ms); a record without it is dead-lettered.' }),
    key: z.array(identifier).min(1).meta({ description: 'Fields that identify the key (one session at a time per key).' }),
    aggregate: z
      .record(identifier, aggregateExpr)
      .refine((a) => Object.keys(a).length > 0, 'declare at least one aggregate')
      .meta({ description: 'Columns of a session row, e.g. `{ events: count(), spent: sum(amount) }`.' }),
    allowed_lateness: duration.default(0).meta({
      description: "A session is closed once its key's newest event time minus this is `gap` past its end.",
    }),
    idle_timeout: duration.optional().meta({
      description:
        'Also close the sessions of a key that received nothing for this long (processing time); default `gap` + `allowed_lateness`. Keeps quiet keys from holding their last session forever.',
    }),
  })
  .superRefine((s, ctx) => {
    if (s.gap <= 0) ctx.addIssue({ code: 'custom', path: ['gap'], message: 'must be positive' });
    for (const [name, agg] of Object.entries(s.aggregate)) {
      if (agg.fn !== 'count' && !agg.field)
        ctx.addIssue({ code: 'custom', path: ['aggregate', name], message: `${agg.fn}() needs a field` });
      if (s.key.includes(name) || (Object.values(SESSION_COLUMNS) as string[]).includes(name)) {
        ctx.addIssue({ code: 'custom', path: ['aggregate', name], message: `"${name}" is a key or reserved column name` });
      }
    }
  })
  .meta({
    description:
      "Gap-based session windows per key: emits one row per session once it is closed (by later event time, or when the key goes idle). Must be the last step; the dataset's fields are derived. State lives in the `trib_windows` KV bucket.",
  });

/** A parsed session config. */
export type SessionConfig = z.output<typeof sessionStepSpec>;

/** Columns of a session row besides its keys and aggregates. */
export const SESSION_COLUMNS = {
  start: 'session_start',
  end: 'session_end',
  records: 'record_count',
} as const;

/** The fields of a session dataset, in column order: bounds, record count, keys, aggregates. */
export function sessionFields(s: SessionConfig, inputTypes: Record<string, FieldType>): FieldDef[] {
  return [
    { name: SESSION_COLUMNS.start, type: 'timestamp', required: true },
    { name: SESSION_COLUMNS.end, type: 'timestamp', required: true },
    { name: SESSION_COLUMNS.records, type: 'integer', required: true },
    ...s.key.map((k): FieldDef => ({ name: k, type: inputTypes[k] ?? 'string', required: true })),
    ...Object.entries(s.aggregate).map(([name, agg]): FieldDef => ({
      name,
      // min/max of timestamps are computed as numbers here: declare them numbers.
      type: aggregateType(agg, agg.field && inputTypes[agg.field] !== 'timestamp' ? inputTypes[agg.field] : undefined),
      required: false,
    })),
  ];
}

/** Config of the `emit` step: the name of the event stream. */
export const emitStepSpec = identifier.meta({
  description:
    'Publishes each record reaching this step as an event on `trib.events.<pipeline>.<name>` (one message per record, ID derived from the input message) and passes it on unchanged.',
});

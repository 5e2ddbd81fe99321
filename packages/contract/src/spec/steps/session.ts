/**
 * Config shape of the `session` step (gap-based windows, state in JetStream KV) and the derived
 * fields of a session dataset. The implementation (transformer `steps/session.ts`) says how it
 * stays exact under redelivery and with several replicas.
 */
import { z } from 'zod';
import { duration, identifier, type FieldDef, type FieldType } from '../common';
import { aggregateExpr, aggregateType } from './window';

const fieldName = z.string().min(1);

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
      unset: '`gap` + `allowed_lateness`',
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

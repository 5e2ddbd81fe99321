/**
 * Building blocks shared by the pipeline spec sections: names, durations, rates, field types.
 */
import { z } from 'zod';

/** Names used in subjects, consumer names and SQL identifiers: lower snake case, max 63 chars. */
export const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower snake_case: a letter, then letters, digits or _ (max 63)');

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration like `500ms`, `30s`, `30m`, `2h`, `7d` into milliseconds. */
export function parseDuration(text: string): number {
  const m = DURATION_RE.exec(text.trim());
  if (!m) throw new Error(`invalid duration "${text}": use a number and one of ms, s, m, h, d (e.g. 30s)`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}

/** A duration written as `<number><ms|s|m|h|d>`, parsed to milliseconds. */
export const duration = z
  .string()
  .regex(DURATION_RE, 'must be a duration such as 500ms, 30s, 5m, 2h or 7d')
  .transform((s) => parseDuration(s))
  .meta({ description: 'Duration: a number followed by ms, s, m, h or d (e.g. `30m`).' });

/** A rate written as `<number>/<s|m|h>`, parsed to records per second. */
export const rate = z
  .string()
  .regex(/^\d+(?:\.\d+)?\/(s|m|h)$/, 'must be a rate such as 500/s, 60/m or 10/h')
  .transform((s) => {
    const [n, unit] = s.split('/');
    return Number(n) / ({ s: 1, m: 60, h: 3600 } as Record<string, number>)[unit!]!;
  })
  .meta({ description: 'Rate: records per unit of time, e.g. `500/s`, `60/m`.' });

/** Column types a dataset field can have, and how each maps to PostgreSQL. */
export const FIELD_TYPES = {
  string: 'text',
  integer: 'bigint',
  number: 'double precision',
  decimal: 'numeric',
  boolean: 'boolean',
  timestamp: 'timestamptz',
  date: 'date',
  json: 'jsonb',
} as const;

/** One of the field types of `FIELD_TYPES`. */
export type FieldType = keyof typeof FIELD_TYPES;

/** A field type name. */
export const fieldType = z.enum(Object.keys(FIELD_TYPES) as [FieldType, ...FieldType[]]);

/** Precision of a bare `decimal` (PostgreSQL's and ClickHouse's largest common one). */
export const DEFAULT_DECIMAL_PRECISION = 38;
/** Scale of a bare `decimal`. */
export const DEFAULT_DECIMAL_SCALE = 9;

/** A dataset field: a bare type, or a type with options. */
export const fieldSpec = z.union([
  fieldType,
  z
    .strictObject({
      type: fieldType,
      required: z.boolean().default(false).meta({ description: 'A record without this field is dead-lettered.' }),
      description: z.string().optional(),
      pii: z.boolean().default(false).meta({
        description:
          'Personal data: the monitor masks this field (by name, at any depth) in dead letters shown without the admin token. Fields a `map` step pseudonymises with `$hmac(...)` are masked too.',
      }),
      precision: z
        .number()
        .int()
        .min(1)
        .max(38)
        .optional()
        .meta({
          unset: `\`${DEFAULT_DECIMAL_PRECISION}\``,
          description: `\`decimal\` only: total significant digits (default ${DEFAULT_DECIMAL_PRECISION}).`,
        }),
      scale: z
        .number()
        .int()
        .min(0)
        .optional()
        .meta({
          unset: `\`${DEFAULT_DECIMAL_SCALE}\``,
          description: `\`decimal\` only: digits after the point (default ${DEFAULT_DECIMAL_SCALE}).`,
        }),
    })
    .superRefine((f, ctx) => {
      if (f.type !== 'decimal' && (f.precision !== undefined || f.scale !== undefined)) {
        ctx.addIssue({ code: 'custom', message: `precision and scale apply to decimal fields only, not ${f.type}` });
      }
      const p = f.precision ?? DEFAULT_DECIMAL_PRECISION;
      if (f.type === 'decimal' && (f.scale ?? Math.min(DEFAULT_DECIMAL_SCALE, p)) > p) {
        ctx.addIssue({ code: 'custom', path: ['scale'], message: `scale ${f.scale} is larger than precision ${p}` });
      }
    }),
]);

/** A dataset field after normalisation. */
export interface FieldDef {
  name: string;
  type: FieldType;
  required: boolean;
  description?: string;
  /** Personal data: masked in dead letters shown without the admin token (see `sensitiveFields`). */
  pii?: boolean;
  /** `decimal` only: total digits and digits after the point (always set for a decimal). */
  precision?: number;
  scale?: number;
}

/** Normalises the `fields` map of a dataset into an ordered list. */
export function normaliseFields(fields: Record<string, z.infer<typeof fieldSpec>>): FieldDef[] {
  return Object.entries(fields).map(([name, f]) => {
    const def: FieldDef =
      typeof f === 'string'
        ? { name, type: f, required: false }
        : {
            name,
            type: f.type,
            required: f.required,
            ...(f.description ? { description: f.description } : {}),
            ...(f.pii ? { pii: true } : {}),
          };
    if (def.type === 'decimal') {
      const o: { precision?: number; scale?: number } = typeof f === 'string' ? {} : f;
      const precision = o.precision ?? DEFAULT_DECIMAL_PRECISION;
      def.precision = precision;
      def.scale = o.scale ?? Math.min(DEFAULT_DECIMAL_SCALE, precision);
    }
    return def;
  });
}

/** PostgreSQL column type of a field: `numeric(p,s)` for a decimal, `FIELD_TYPES` otherwise. */
export function pgColumnType(f: Pick<FieldDef, 'type' | 'precision' | 'scale'>): string {
  if (f.type === 'decimal') return `numeric(${f.precision ?? DEFAULT_DECIMAL_PRECISION},${f.scale ?? DEFAULT_DECIMAL_SCALE})`;
  return FIELD_TYPES[f.type];
}

/** A JSONata expression evaluated against the record (`map`, `filter`, `route`). */
export const jsonataExpression = z.string().min(1).meta({ description: 'A JSONata expression evaluated against the record.' });

/** A source's `schema:`: a JSON Schema file, relative to the pipeline file, that each record must satisfy. */
export const schemaRef = z
  .string()
  .meta({ description: 'Path of a JSON Schema file, relative to the pipeline file, that each record must satisfy.' });

/**
 * A record field that holds the record's time at its source (docs/design.md, Wire contract,
 * "Source time"): a dotted path to an RFC 3339 timestamp, e.g. `updated_at` or `meta.modified`.
 */
export const sourceTimeField = z
  .string()
  .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'a field name or dotted path')
  .meta({
    unset: 'no source time',
    description:
      "The record field holding the record's own time at the source (a dotted path to an RFC 3339 timestamp, e.g. `updated_at`); each message carries the oldest of its records' in `Trib-Source-Time`, the warehouse stores it in `_source_time` and the monitor's source freshness follows it. A record without the field (or null) has no source time; one whose value is not a timestamp is dead-lettered. Unset: no source time (the time a record was fetched is not its source's).",
  });

/** A table name, optionally schema-qualified (`public.orders`); unqualified names are in `public`. */
export const qualifiedTable = z
  .string()
  .regex(/^([A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$/, 'must be table or schema.table (unquoted identifiers)')
  .meta({ description: 'A table, `table` (schema `public`) or `schema.table`.' });

/** A column name of a source database (an unquoted identifier). */
export const sourceColumn = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'must be a column name (an unquoted identifier)');

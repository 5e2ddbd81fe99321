/**
 * `checks:` of a pipeline: data-quality tests on tables and models. Each entry names a table and
 * one or more tests (`not_null`, `unique`, `relationships`, `accepted_values`, `accepted_range`,
 * `freshness`), or is a custom `sql` query returning the failing rows. Every test becomes one
 * check with a stable name, e.g. `fact_sales_order.not_null.units_sold`.
 */
import { z } from 'zod';
import { duration } from './common';

const column = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must be a column name');
const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** One entry of `checks:`. */
export const checkEntrySpec = z
  .strictObject({
    table: z.string().optional().meta({ description: 'The table, generated dimension or model tested.' }),
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_.]*$/)
      .optional()
      .meta({ description: 'Name of a custom `sql` check (required with `sql`).' }),
    severity: z
      .enum(['warn', 'error'])
      .default('error')
      .meta({ description: '`error` fails `tributary check` (exit 1); `warn` is reported only.' }),
    where: z.string().optional().meta({ description: 'SQL condition restricting the rows tested, e.g. `is_current`.' }),
    not_null: z.array(column).min(1).optional().meta({ description: 'Columns that must not be NULL.' }),
    unique: z
      .array(z.union([column, z.array(column).min(1)]))
      .min(1)
      .optional()
      .meta({ description: 'Columns (or lists of columns) whose values must be unique.' }),
    relationships: z
      .record(column, z.string().regex(/^[a-z][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, 'must be table.column'))
      .optional()
      .meta({ description: 'Column -> `table.column` it references: every non-NULL value must exist there.' }),
    accepted_values: z
      .record(column, z.array(scalar).min(1))
      .optional()
      .meta({ description: 'Column -> the values allowed (NULL is allowed).' }),
    accepted_range: z
      .record(column, z.strictObject({ min: scalar.optional(), max: scalar.optional() }))
      .optional()
      .meta({ description: 'Column -> inclusive `min` and/or `max`.' }),
    freshness: z
      .strictObject({
        column: column.default('_loaded_at'),
        max_age: duration.meta({ description: 'The newest value of `column` must be younger than this.' }),
      })
      .optional(),
    sql: z
      .string()
      .optional()
      .meta({ description: "Custom check: a SELECT returning the failing rows; `{{ ref('name') }}` names a table or model." }),
    description: z.string().optional(),
  })
  .refine((c) => (c.sql ? c.name !== undefined : c.table !== undefined), 'a check needs `table` (or `sql` with `name`)')
  .meta({ title: 'check' });

/** `checks:` of a pipeline. */
export const checksSpec = z.array(checkEntrySpec).default([]).meta({ description: 'Data-quality checks on tables and models.' });

/** A parsed check entry. */
export type CheckEntry = z.output<typeof checkEntrySpec>;

/** Kinds of check. */
export type CheckKind = 'not_null' | 'unique' | 'relationships' | 'accepted_values' | 'accepted_range' | 'freshness' | 'sql';

/** One check, expanded from an entry. */
export interface Check {
  name: string;
  kind: CheckKind;
  severity: 'warn' | 'error';
  table?: string;
  /** Tables and models it reads (for running it after their loads). */
  reads: string[];
  /** Builds the SELECT returning failing rows; `resolve` maps a name to a quoted table. */
  failingRows: (resolve: (name: string) => string) => string;
}

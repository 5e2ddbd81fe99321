/**
 * The system columns a warehouse table has beyond its dataset's fields, by load mode (names and
 * PostgreSQL types). A leaf: the spec checks, the DDL and the loader all read them here.
 */

/** System columns of an scd2 table, in the order they are created. */
export const SCD2_COLUMNS = {
  valid_from: 'timestamptz NOT NULL',
  valid_to: "timestamptz NOT NULL DEFAULT 'infinity'",
  is_current: 'boolean NOT NULL DEFAULT true',
  is_deleted: 'boolean NOT NULL DEFAULT false',
  is_inferred: 'boolean NOT NULL DEFAULT false',
  // The latest event time merged into the version (its start when it absorbed nothing). Rows
  // written before `_absorbed_at` existed resume at this time when a late change splits them.
  // NULL without a `valid_from` field (no out-of-order arrival then).
  _last_event_at: 'timestamptz',
  // The event times of the records the version absorbed after its start (equal tracked columns:
  // no new version), ascending, the latest SCD2_ABSORBED_MAX (services/loader/src/modes/scd2.ts)
  // of them; NULL when none. When a late change splits the version, its state resumes at the
  // earliest absorbed time after the late record. NULL without a `valid_from` field.
  _absorbed_at: 'timestamptz[]',
} as const;

/** scd2 columns added after tables existed: `migrate` adds them to an existing table (nullable). */
export const SCD2_ADDABLE_COLUMNS: ReadonlySet<string> = new Set(['_absorbed_at']);

/** Per-column event order of an accumulating snapshot (`{column: order}`), so late events never overwrite newer values. */
export const VALUE_ORDER_COLUMN = '_value_order';

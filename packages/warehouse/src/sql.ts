/**
 * SQL helpers: identifier quoting and the warehouse/bookkeeping schema names.
 */

/** Schema of warehouse tables. */
export const WAREHOUSE_SCHEMA = 'warehouse';
/** Schema of Tributary's own bookkeeping (ledger, stream log, ...). */
export const TRIBUTARY_SCHEMA = 'tributary';

/** Quotes an identifier for PostgreSQL. Spec names are already restricted to snake_case; this is defence in depth. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A schema-qualified, quoted table name in the warehouse schema. */
export function warehouseTable(name: string): string {
  return `${ident(WAREHOUSE_SCHEMA)}.${ident(name)}`;
}

/**
 * Dimension lookups at load: before a fact table's merge, each lookup column of the staged rows
 * gets the surrogate key of the dimension version valid at the fact's event time (`at`), or the
 * current version. A member the dimension does not have yet is inserted as an inferred member
 * (key only, `is_inferred`, valid from -infinity), which the dimension's scd2 merge fills in
 * (same surrogate key) when the member's record arrives.
 */
import { datasetOf, pgColumnType, scd2Layout, type LookupColumn, type Pipeline } from '@tributary/contract/spec';
import { ident, warehouseTable } from '@tributary/warehouse/sql';
import { keyHash, lockMembersSql } from '../sql/lock-keys';

/** The statements, in order, that fill `lookups` columns of `staging` (quoted). */
export function lookupStatements(pipeline: Pipeline, staging: string, lookups: readonly LookupColumn[]): string[] {
  const out: string[] = [];
  for (const l of lookups) {
    const dim = warehouseTable(l.dimension.name);
    const dimFields = datasetOf(pipeline, l.dimension).fields;
    const sk = ident(scd2Layout(l.dimension, dimFields).sk);
    const typeOf = (col: string): string => pgColumnType(dimFields.find((f) => f.name === col)!);
    // Fact values cast to the dimension's key types: a value that does not cast is a rejected record.
    const val = (o: { field: string; dimColumn: string }): string => `s.${ident(o.field)}::${typeOf(o.dimColumn)}`;
    const present = l.on.map((o) => `s.${ident(o.field)} IS NOT NULL`).join(' AND ');
    const matches = l.on.map((o) => `d.${ident(o.dimColumn)} = ${val(o)}`).join(' AND ');
    const missing = `${present} AND NOT EXISTS (SELECT 1 FROM ${dim} d WHERE ${matches})`;
    out.push(lockMembersSql(l.dimension.name, `SELECT ${keyHash(l.on.map(val))} AS h FROM ${staging} s WHERE ${missing}`));
    const keyCols = l.on.map((o) => ident(o.dimColumn));
    out.push(`INSERT INTO ${dim} (${keyCols.join(', ')}, "valid_from", "valid_to", "is_current", "is_deleted", "is_inferred", "_msg_id", "_ingested_at")
      SELECT DISTINCT ON (${keyCols.join(', ')}) ${l.on.map((o) => `${val(o)} AS ${ident(o.dimColumn)}`).join(', ')},
        '-infinity', 'infinity', true, false, true, 'inferred:' || s._msg_id, s._ingested_at
      FROM ${staging} s WHERE ${missing}
      ORDER BY ${keyCols.join(', ')}, s._ord
      ON CONFLICT DO NOTHING`);
    // The version valid at the event time; before the first version, the first; without a time, the current.
    const at = l.at ? `s.${ident(l.at)}::timestamptz` : 'NULL::timestamptz';
    out.push(`UPDATE ${staging} s SET ${ident(l.column)} = (
        SELECT d.${sk} FROM ${dim} d WHERE ${matches}
        ORDER BY d."is_deleted",
          CASE WHEN ${at} IS NULL THEN NOT d."is_current" ELSE d."valid_from" > ${at} END,
          CASE WHEN ${at} IS NULL OR d."valid_from" <= ${at} THEN d."valid_from" END DESC NULLS LAST,
          d."valid_from"
        LIMIT 1)
      WHERE ${present}`);
  }
  return out;
}

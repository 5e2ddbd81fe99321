/**
 * Per-member advisory locks of an scd2 dimension. Every writer of a dimension (its own merge, and
 * facts inserting inferred members) takes them, in ascending order, before reading the member's
 * versions, so concurrent loaders never plan from the same snapshot and collide on the unique
 * indexes (a collision would be a constraint error, which the loader treats as bad data).
 */
import { createHash } from 'node:crypto';

/** A stable 32-bit class id for a table's locks (the two-int advisory lock space). */
export function lockClass(table: string): number {
  return createHash('sha256').update(`tributary.scd2:${table}`).digest().readInt32BE(0);
}

/** SQL expression hashing a member's key values (already SQL expressions) into the lock's second int. */
export function keyHash(values: readonly string[]): string {
  return `hashtext(concat_ws(chr(31), ${values.map((v) => `(${v})::text`).join(', ')}))`;
}

/** A statement locking the members whose key hashes `hashesSql` (a query of one column `h`) returns. */
export function lockMembersSql(table: string, hashesSql: string): string {
  return `SELECT count(pg_advisory_xact_lock(${lockClass(table)}, h)) FROM (SELECT DISTINCT h FROM (${hashesSql}) q ORDER BY h) x`;
}

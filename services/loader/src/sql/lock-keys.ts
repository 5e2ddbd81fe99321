/**
 * Per-member advisory locks of an scd2 dimension. Every writer of a dimension (its own merge, and
 * facts inserting inferred members) takes them, in ascending order, before reading the member's
 * versions, so concurrent loaders never plan from the same snapshot and collide on the unique
 * indexes (a collision would be a constraint error, which the loader treats as bad data).
 *
 * Members hash into LOCK_SLOTS slots per table, and the slot is what is locked: a transaction
 * holds at most that many locks per dimension however many members it writes. One lock per
 * member exhausted PostgreSQL's lock table (max_locks_per_transaction x connections) on a flush
 * of tens of thousands of members, "out of shared memory", retried for ever. Two members in one
 * slot only serialise their writers.
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

/** Lock slots per dimension: the most locks one transaction takes on a table. */
export const LOCK_SLOTS = 256;

/** A statement locking the slots of the members whose key hashes `hashesSql` (a query of one column `h`) returns. */
export function lockMembersSql(table: string, hashesSql: string): string {
  return `SELECT count(pg_advisory_xact_lock(${lockClass(table)}, s)) FROM (SELECT DISTINCT h & ${LOCK_SLOTS - 1} AS s FROM (${hashesSql}) q ORDER BY s) x`;
}

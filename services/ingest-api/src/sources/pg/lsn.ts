/**
 * Log sequence numbers and change positions. PostgreSQL writes an LSN as `X/Y` (two 32-bit hex
 * halves); here it is a bigint for arithmetic and comparison. A change is addressed by its
 * transaction's commit LSN plus its index in the transaction, which is the same on every replay of
 * the WAL, so message IDs built from positions are the same after a restart.
 */

/** Parses `X/Y` into a bigint; throws on anything else. */
export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!m) throw new Error(`invalid LSN "${text}"`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** Formats a bigint LSN as PostgreSQL does (`16/B374D848`). */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** A change: the commit LSN of its transaction and its index in the transaction. */
export interface ChangePos {
  lsn: bigint;
  seq: number;
}

/** Orders positions: by transaction commit LSN, then index. */
export function comparePos(a: ChangePos, b: ChangePos): number {
  return a.lsn < b.lsn ? -1 : a.lsn > b.lsn ? 1 : a.seq - b.seq;
}

/** Text form of a position, sortable as a string: 16 hex digits, a dot, the index. */
export function formatPos(p: ChangePos): string {
  return `${p.lsn.toString(16).toUpperCase().padStart(16, '0')}.${p.seq}`;
}

/** Parses `formatPos` output. */
export function parsePos(text: string): ChangePos {
  const m = /^([0-9A-F]{16})\.(\d+)$/.exec(text);
  if (!m) throw new Error(`invalid change position "${text}"`);
  return { lsn: BigInt(`0x${m[1]}`), seq: Number(m[2]) };
}

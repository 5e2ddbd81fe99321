/**
 * Source transactions on the wire (docs/design.md, Source transactions): a `postgres_cdc` message
 * holds whole source transactions, and every processed message the transformer derives from it
 * names the group it belongs to and how many messages the group has, so the loader can make the
 * whole group visible in one commit, whichever replica receives which of its messages.
 */
import { TributaryError } from '../errors';
import { header, type Headers } from './headers';

/** Header names of a source-transaction group. */
export const TXN_HEADERS = {
  /** The group: the message ID of the raw message (without its part) the processed message came from. */
  group: 'Trib-Txn-Group',
  /** `<part>/<parts>/<outputs>`: the raw part (from 1) it came from, of how many, and how many processed messages that part gave. */
  part: 'Trib-Txn-Part',
  /** `<commit LSN> <commit time>` of the group's newest source transaction (the time may be `-` when unknown). */
  position: 'Trib-Txn-Position',
} as const;

/** A processed message's place in its source-transaction group. */
export interface TxnGroup {
  group: string;
  /** The source the group came from (from the group ID). */
  source: string;
  /** Raw part the message came from, from 1, and how many the raw message had. */
  part: number;
  parts: number;
  /** Processed messages the raw part gave (every dataset, every part). */
  outputs: number;
  /** Commit LSN (`X/Y`) of the group's newest transaction. */
  lsn: string;
  /** Commit time (canonical source time) of the group's newest transaction, when known. */
  commitAt?: string;
}

const CDC_ID = /^([^/]+)\/([^:]+):cdc:([0-9A-F]{16})\.\d+-([0-9A-F]{16})\.\d+(?::(\d+))?$/;

/**
 * The group of a raw message from a change-data-capture source, or undefined when it is not one
 * (snapshot chunks, other sources). `part` is its `Trib-Part` header (`<n>/<of>`), if split.
 */
export function cdcGroupOf(inputId: string, part: string | undefined): Omit<TxnGroup, 'outputs' | 'commitAt'> | undefined {
  const m = CDC_ID.exec(inputId);
  if (!m) return undefined;
  const split = part ? /^(\d+)\/(\d+)$/.exec(part) : null;
  const to = BigInt(`0x${m[4]}`);
  const lsn = `${(to >> 32n).toString(16).toUpperCase()}/${(to & 0xffffffffn).toString(16).toUpperCase()}`;
  // A split raw message's ID ends in `:<part from 0>`; the group is the ID without it.
  const group = split && m[5] !== undefined ? inputId.slice(0, inputId.lastIndexOf(':')) : inputId;
  return { group, source: m[2]!, part: split ? Number(split[1]) : 1, parts: split ? Number(split[2]) : 1, lsn };
}

/** The headers of a processed message in `g`. */
export function txnHeaders(g: TxnGroup | undefined): Record<string, string | undefined> {
  if (!g) return {};
  return {
    [TXN_HEADERS.group]: g.group,
    [TXN_HEADERS.part]: `${g.part}/${g.parts}/${g.outputs}`,
    [TXN_HEADERS.position]: `${g.lsn} ${g.commitAt ?? '-'}`,
  };
}

/** Reads a processed message's group; undefined when it has none; throws on a malformed one (the message is then dead-lettered). */
export function txnGroupHeader(h: Headers | undefined): TxnGroup | undefined {
  const group = header(h, TXN_HEADERS.group);
  if (group === undefined) return undefined;
  const part = /^(\d+)\/(\d+)\/(\d+)$/.exec(header(h, TXN_HEADERS.part) ?? '');
  const position = /^([0-9A-F]{1,8}\/[0-9A-F]{1,8}) (\S+)$/.exec(header(h, TXN_HEADERS.position) ?? '');
  const source = /^[^/]+\/([^:]+):/.exec(group);
  if (!part || !position || !source || Number(part[1]) < 1 || Number(part[1]) > Number(part[2]) || Number(part[3]) < 1) {
    throw new TributaryError(
      'TRIB_E_PARSE',
      `malformed source-transaction headers: ${TXN_HEADERS.group} "${group}", ${TXN_HEADERS.part} "${header(h, TXN_HEADERS.part) ?? ''}", ${TXN_HEADERS.position} "${header(h, TXN_HEADERS.position) ?? ''}"`,
    );
  }
  return {
    group,
    source: source[1]!,
    part: Number(part[1]),
    parts: Number(part[2]),
    outputs: Number(part[3]),
    lsn: position[1]!,
    ...(position[2] === '-' ? {} : { commitAt: position[2]! }),
  };
}

/**
 * Writes one flush of the archiver: the messages are grouped by (stage, source or dataset, UTC
 * day of their ingest time) and each group becomes one file named after the first and last
 * stream sequence it holds. Exactly once in the archive:
 * - a redelivered batch of the same messages has the same name, so its file is rewritten, not
 *   added (the write is atomic: readers never see half a file);
 * - a redelivered message that comes back grouped with other messages (a crash after the write
 *   and before the ack, then redelivery next to new messages) is looked up in the files of its
 *   partition whose sequence range covers it, and left out when already archived.
 * Only messages delivered before can be in a file already, so the lookup runs only for them.
 */
import { TributaryError } from '@tributary/contract/errors';
import { type ArchiveStage } from '@tributary/contract/spec';
import { encodeArchive, decodeArchive, extensionOf, type ArchiveEncoding } from './archive-codec';
import { archiveDate, archiveKey, parseArchiveKey, partitionPrefix } from './archive-key';
import type { ArchivedMessage } from './archived-message';
import type { ArchiveStore } from './archive-store';

/** A message handed to the archive writer. */
export interface ArchiveInput extends ArchivedMessage {
  stage: ArchiveStage;
  /** Source (raw) or dataset (processed). */
  name: string;
  /** Delivered before (it may be archived already). */
  redelivered: boolean;
}

/** A file written by a flush. */
export interface WrittenFile {
  key: string;
  stage: ArchiveStage;
  bytes: number;
  messages: number;
  records: number;
}

/** What a flush did. */
export interface ArchiveFlush {
  files: WrittenFile[];
  /** Redelivered messages found in the archive already, not written again. */
  alreadyArchived: number;
  /** Files that could not be read while looking for redelivered messages (rewritten when the name matches). */
  unreadable: string[];
}

/** Writes `msgs` of `pipeline`; resolves once every file is durable. */
export async function writeArchive(
  store: ArchiveStore,
  pipeline: string,
  enc: ArchiveEncoding,
  msgs: readonly ArchiveInput[],
): Promise<ArchiveFlush> {
  const groups = new Map<string, ArchiveInput[]>();
  for (const m of msgs) {
    const prefix = partitionPrefix(pipeline, m.stage, m.name, archiveDate(m.ingestedAt));
    const g = groups.get(prefix);
    if (g) g.push(m);
    else groups.set(prefix, [m]);
  }
  const flush: ArchiveFlush = { files: [], alreadyArchived: 0, unreadable: [] };
  await Promise.all(
    [...groups].map(async ([prefix, group]) => {
      // One copy per sequence (a batch may hold a message twice after a redelivery race).
      let todo = [...new Map(group.map((m) => [m.seq, m])).values()].sort((a, b) => a.seq - b.seq);
      if (todo.some((m) => m.redelivered)) {
        const archived = await archivedSeqs(
          store,
          prefix,
          todo.filter((m) => m.redelivered),
          flush.unreadable,
        );
        flush.alreadyArchived += todo.filter((m) => archived.has(m.seq)).length;
        todo = todo.filter((m) => !archived.has(m.seq));
      }
      if (todo.length === 0) return;
      const first = todo[0]!;
      const key = archiveKey({
        pipeline,
        stage: first.stage,
        name: first.name,
        date: archiveDate(first.ingestedAt),
        firstSeq: first.seq,
        lastSeq: todo[todo.length - 1]!.seq,
        ext: extensionOf(enc),
      });
      let body: Uint8Array;
      try {
        body = await encodeArchive(enc, todo);
      } catch (err) {
        // Not a transient failure: retrying the same messages would fail the same way.
        throw new TributaryError('TRIB_E_INTERNAL', `cannot encode archive file ${key}: ${(err as Error).message}`, { cause: err });
      }
      await store.put(key, body);
      flush.files.push({
        key,
        stage: first.stage,
        bytes: body.byteLength,
        messages: todo.length,
        records: todo.reduce((n, m) => n + m.records.length, 0),
      });
    }),
  );
  // Files in key order, whichever write finished first.
  flush.files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return flush;
}

/** Sequences of `redelivered` already in a file of the partition. */
async function archivedSeqs(store: ArchiveStore, prefix: string, redelivered: ArchiveInput[], unreadable: string[]): Promise<Set<number>> {
  const lo = redelivered[0]!.seq;
  const hi = redelivered[redelivered.length - 1]!.seq;
  const out = new Set<number>();
  for (const key of await store.list(prefix)) {
    const k = parseArchiveKey(key);
    if (!k || k.lastSeq < lo || k.firstSeq > hi) continue;
    try {
      for (const m of await decodeArchive(key, await store.get(key))) out.add(m.seq);
    } catch (err) {
      // A store failure is retried by the caller; a damaged file does not hold these messages.
      if ((err as { code?: string }).code !== 'TRIB_E_DECODE') throw err;
      unreadable.push(key);
    }
  }
  return out;
}

/**
 * Finds the archive files of a pipeline for a stage, optionally one source or dataset and a
 * range of days, in the order a backfill replays them: day by day, and within a day by the
 * first stream sequence of each file (so each dataset's messages come back in stream order).
 */
import type { ArchiveStage } from '@tributary/contract/spec';
import { parseArchiveKey, type ArchiveKey } from './archive-key';
import type { ArchiveStore } from './archive-store';

/** Which files to read. */
export interface ArchiveSelection {
  pipeline: string;
  stage: ArchiveStage;
  /** Only this source (raw) or dataset (processed). */
  name?: string;
  /** First and last day to include, `YYYY-MM-DD` (inclusive). */
  from?: string;
  to?: string;
}

/** The selected files, and keys under the prefix that are not archive file names. */
export async function listArchiveFiles(store: ArchiveStore, sel: ArchiveSelection): Promise<{ files: ArchiveKey[]; foreign: string[] }> {
  const prefix = `${sel.pipeline}/${sel.stage}/${sel.name ? `${sel.name}/` : ''}`;
  const files: ArchiveKey[] = [];
  const foreign: string[] = [];
  for (const key of await store.list(prefix)) {
    const k = parseArchiveKey(key);
    if (!k || k.pipeline !== sel.pipeline || k.stage !== sel.stage) {
      foreign.push(key);
      continue;
    }
    if ((sel.from && k.date < sel.from) || (sel.to && k.date > sel.to)) continue;
    files.push(k);
  }
  files.sort((a, b) => a.date.localeCompare(b.date) || a.firstSeq - b.firstSeq || a.key.localeCompare(b.key));
  return { files, foreign };
}

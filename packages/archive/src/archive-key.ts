/**
 * Archive file names: `<pipeline>/<stage>/<source-or-dataset>/date=YYYY-MM-DD/<first>-<last>.<ext>`
 * where first and last are the stream sequences of the first and last message in the file
 * (zero-padded so names sort in stream order). The name is a function of the messages it holds,
 * so a redelivered batch rewrites the same file instead of adding a copy.
 */
import type { ArchiveStage } from '@tributary/contract/spec';

/** File extensions by format and compression. */
export type ArchiveExtension = 'parquet' | 'ndjson.gz' | 'ndjson';

/** The parts of an archive file name. */
export interface ArchiveKey {
  key: string;
  pipeline: string;
  stage: ArchiveStage;
  /** Source (raw) or dataset (processed). */
  name: string;
  /** UTC day of the messages' ingest time, `YYYY-MM-DD`. */
  date: string;
  firstSeq: number;
  lastSeq: number;
  ext: ArchiveExtension;
}

const SEQ_DIGITS = 12;
const KEY_RE =
  /^([a-z][a-z0-9_]*)\/(raw|processed)\/([a-z][a-z0-9_]*)\/date=(\d{4}-\d{2}-\d{2})\/(\d+)-(\d+)\.(parquet|ndjson\.gz|ndjson)$/;

/** The UTC day of an epoch-ms time. */
export function archiveDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The folder of one partition (with a trailing slash). */
export function partitionPrefix(pipeline: string, stage: ArchiveStage, name: string, date: string): string {
  return `${pipeline}/${stage}/${name}/date=${date}/`;
}

/** The key of a file. */
export function archiveKey(k: Omit<ArchiveKey, 'key'>): string {
  const pad = (n: number): string => String(n).padStart(SEQ_DIGITS, '0');
  return `${partitionPrefix(k.pipeline, k.stage, k.name, k.date)}${pad(k.firstSeq)}-${pad(k.lastSeq)}.${k.ext}`;
}

/** Parses a key; undefined for anything that is not an archive file name. */
export function parseArchiveKey(key: string): ArchiveKey | undefined {
  const m = KEY_RE.exec(key);
  if (!m) return undefined;
  return {
    key,
    pipeline: m[1]!,
    stage: m[2] as ArchiveStage,
    name: m[3]!,
    date: m[4]!,
    firstSeq: Number(m[5]),
    lastSeq: Number(m[6]),
    ext: m[7] as ArchiveExtension,
  };
}

/**
 * Where archive files live: a key-value store of immutable files with `put`, `get` and `list`.
 * Two backends: a local folder (`LocalArchiveStore`) and an S3-compatible bucket
 * (`S3ArchiveStore`). Keys are `/`-separated relative paths built by `archive-key.ts`.
 */
import { TributaryError } from '@tributary/contract/errors';

/** An archive store. */
export interface ArchiveStore {
  /** Where the store is, for messages: a folder path or `s3://bucket/prefix`. */
  readonly location: string;
  /** Writes `body` under `key` atomically: readers see the whole file or none; an existing file is replaced. */
  put(key: string, body: Uint8Array): Promise<void>;
  /** Reads a whole file. */
  get(key: string): Promise<Uint8Array>;
  /** Keys starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Releases connections. */
  close(): void;
}

/** Refuses a key that could leave the store (`..`, absolute, backslashes, empty segments). */
export function checkKey(key: string): void {
  const bad = key.split('/').some((s) => s === '' || s === '.' || s === '..') || key.includes('\\') || key.includes('\0');
  if (bad) throw new TributaryError('TRIB_E_INTERNAL', `invalid archive key "${key}"`);
}

/** An I/O failure of the store: retryable (the archiver keeps the messages and tries again). */
export function storeUnavailable(location: string, what: string, err: unknown): TributaryError {
  return new TributaryError('TRIB_E_UNAVAILABLE', `archive ${location}: ${what} failed: ${(err as Error).message}`, { cause: err });
}

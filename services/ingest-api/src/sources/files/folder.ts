/**
 * The watched folder of a `file` source: which files are ready, their content hash, and where
 * they go when done.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/** Sub-folders for processed files. */
export const DONE_DIR = 'done';
/** Sub-folder for files that could not be read. */
export const FAILED_DIR = 'failed';

/** A file ready to ingest. */
export interface ReadyFile {
  name: string;
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * Files directly in `dir` whose name matches, not hidden (uploads in progress are dot-files),
 * unchanged for `minAgeMs`; oldest first, then by name.
 */
export async function readyFiles(dir: string, match: RegExp, minAgeMs: number, now = Date.now()): Promise<ReadyFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: ReadyFile[] = [];
  for (const e of entries) {
    if (!e.isFile() || e.name.startsWith('.') || !match.test(e.name)) continue;
    const p = path.join(dir, e.name);
    const st = await stat(p).catch(() => undefined); // removed meanwhile
    if (!st || now - st.mtimeMs < minAgeMs) continue;
    out.push({ name: e.name, path: p, size: st.size, mtimeMs: st.mtimeMs });
  }
  return out.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
}

/** SHA-256 of a file's content, streamed. */
export async function sha256File(p: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(p), hash);
  return hash.digest('hex');
}

/** Moves `file` into `dir/<sub>/`; a name already taken there gets the content ID appended. Returns the new path. */
export async function moveInto(file: ReadyFile, sub: string, contentId: string): Promise<string> {
  const target = path.join(path.dirname(file.path), sub);
  await mkdir(target, { recursive: true });
  let dest = path.join(target, file.name);
  if (
    await stat(dest).then(
      () => true,
      () => false,
    )
  ) {
    const ext = path.extname(file.name);
    dest = path.join(target, `${path.basename(file.name, ext)}-${contentId.slice(0, 12)}${ext}`);
  }
  await rename(file.path, dest);
  return dest;
}

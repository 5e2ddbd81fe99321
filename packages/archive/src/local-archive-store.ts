/**
 * The archive in a local folder. A file is written to a hidden temporary name beside its target,
 * flushed to disk, renamed over the target and the folder flushed, so a crash at any moment
 * leaves either the previous file or the new one, never a torn file under an archive key.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { checkKey, storeUnavailable, type ArchiveStore } from './archive-store';

/** A folder of archive files. */
export class LocalArchiveStore implements ArchiveStore {
  /** @param root The folder (created on first write). */
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    checkKey(key);
    const target = path.join(this.root, ...key.split('/'));
    const dir = path.dirname(target);
    const tmp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
      // The rename is durable only once the folder's entry is on disk.
      const d = await open(dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw storeUnavailable(this.root, `write ${key}`, err);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    checkKey(key);
    try {
      return await readFile(path.join(this.root, ...key.split('/')));
    } catch (err) {
      throw storeUnavailable(this.root, `read ${key}`, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    // Walk only below the deepest folder the prefix names.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(path.join(this.root, ...rel.split('/').filter(Boolean)), { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw storeUnavailable(this.root, `list ${prefix}`, err);
      }
      for (const e of entries) {
        if (e.name.startsWith('.')) continue; // temporary files of writes in progress (or crashed)
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix)) await walk(key);
        } else if (e.isFile() && key.startsWith(prefix)) {
          out.push(key);
        }
      }
    };
    await walk(base);
    return out.sort();
  }

  close(): void {}
}

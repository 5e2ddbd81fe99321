/**
 * Writing warehouse rows out before retention deletes them: the rows of a partition (or of a
 * predicate over DEFAULT) as gzip'd NDJSON, one `row_to_json` object per line, read through a
 * cursor in the caller's transaction and handed to an archive hook. The default hook writes a local
 * folder atomically (temp file, fsync, rename); pipelines with a landing archive use its store
 * (`landingArchive`: the local folder or S3 bucket their batches are archived to).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { archiveOf, openArchiveStore, type ArchiveEnv, type ArchiveStore } from '@tributary/archive';
import type { Pipeline } from '@tributary/contract/spec';
import type { PoolClient } from 'pg';

/** What is being archived. */
export interface ArchiveTarget {
  pipeline: string;
  table: string;
  /** The partition the rows come from (`<table>_pYYYYMMDD` or `<table>_default`). */
  partition: string;
  /**
   * Unique name of this set of rows: `<partition>` the first time, `<partition>.<n>` when rows of
   * that partition were archived n times before (a partition re-created by late rows, later DEFAULT
   * sweeps). A retry after a failed drop reuses the key, and must replace what it names.
   */
  key: string;
}

/**
 * Stores one archive: must read `ndjsonGz` (gzip'd NDJSON) to its end and resolve, with where the
 * data went, only once it is durable. Retention drops the rows only after it resolves.
 */
export type ArchivePartition = (target: ArchiveTarget, ndjsonGz: AsyncIterable<Buffer>) => Promise<string>;

/** The default hook: `<dir>/<pipeline>/<table>/<key>.ndjson.gz`, replaced atomically. */
export function localArchive(dir: string): ArchivePartition {
  return async (target, ndjsonGz) => {
    const folder = path.resolve(dir, target.pipeline, target.table);
    await mkdir(folder, { recursive: true });
    const file = path.join(folder, `${target.key}.ndjson.gz`);
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      await pipeline(Readable.from(ndjsonGz), createWriteStream(tmp));
      const fh = await open(tmp, 'r+');
      await fh.sync().finally(() => fh.close());
      await rename(tmp, file);
      const dh = await open(folder, 'r');
      await dh.sync().finally(() => dh.close());
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return file;
  };
}

const FETCH_ROWS = 2000;

/**
 * Streams the rows of `relation` (quoted; `where`: an optional predicate) into `archive`, inside
 * the open transaction of `client`; resolves with the row count and where they went.
 */
export async function archiveRows(
  client: PoolClient,
  relation: string,
  where: string | undefined,
  target: ArchiveTarget,
  archive: ArchivePartition,
): Promise<{ rows: number; location: string }> {
  await client.query(
    `DECLARE trib_archive NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS j FROM ${relation} t${where ? ` WHERE ${where}` : ''}`,
  );
  let rows = 0;
  async function* lines(): AsyncGenerator<Buffer> {
    for (;;) {
      const r = await client.query<{ j: string }>(`FETCH ${FETCH_ROWS} FROM trib_archive`);
      if (r.rows.length === 0) return;
      rows += r.rows.length;
      yield Buffer.from(`${r.rows.map((x) => x.j).join('\n')}\n`);
    }
  }
  const gz = createGzip();
  const feed = pipeline(Readable.from(lines()), gz);
  try {
    const [location] = await Promise.all([archive(target, gz), feed]);
    await client.query('CLOSE trib_archive');
    return { rows, location };
  } catch (err) {
    // A hook that gave up without reading would leave the feed waiting on back-pressure.
    gz.destroy();
    await feed.catch(() => undefined);
    throw err;
  }
}

/**
 * Retention's hook for pipelines with a landing archive (`archive:` section, or ARCHIVE_ALL):
 * partitions go to the same store as the archived batches, under
 * `<pipeline>/tables/<table>/<key>.ndjson.gz`; other pipelines' go to `fallback`. The gzip'd rows
 * are gathered in (off-heap) buffers first, because a store `put` is one atomic write.
 */
export function landingArchive(pipelines: readonly Pipeline[], env: ArchiveEnv, fallback: ArchivePartition): ArchivePartition {
  const stores = new Map<string, Promise<ArchiveStore>>();
  return async (target, ndjsonGz) => {
    const pipeline = pipelines.find((p) => p.name === target.pipeline);
    if (!pipeline || !archiveOf(pipeline, env)) return fallback(target, ndjsonGz);
    let store = stores.get(pipeline.name);
    if (!store) {
      store = openArchiveStore(pipeline, env);
      // A store that failed to open is opened again next time, not cached broken.
      store.catch(() => stores.delete(pipeline.name));
      stores.set(pipeline.name, store);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of ndjsonGz) chunks.push(chunk);
    const key = `${pipeline.name}/tables/${target.table}/${target.key}.ndjson.gz`;
    const s = await store;
    await s.put(key, Buffer.concat(chunks));
    return `${s.location}/${key}`;
  };
}

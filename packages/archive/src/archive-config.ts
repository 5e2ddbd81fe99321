/**
 * Which pipelines are archived, with what settings, and where: the `archive:` section of the
 * spec, or (with `ARCHIVE_ALL=true`) the defaults for pipelines without one, into `ARCHIVE_DIR`.
 * `openArchiveStore` opens the store of a pipeline for the archiver, `backfill` and anything
 * else that writes or reads the archive (e.g. partition retention).
 */
import path from 'node:path';
import { z } from 'zod';
import { TributaryError } from '@tributary/contract/errors';
import { archiveSpec, type ArchiveSpec, type Pipeline } from '@tributary/contract/spec';
import type { ArchiveStore } from './archive-store';
import { LocalArchiveStore } from './local-archive-store';
import { createS3Client } from './s3-client';
import { S3ArchiveStore } from './s3-archive-store';

/** Environment variables of the archive (read by `migrate`, the loader and `backfill`). */
export const archiveEnv = {
  /** Folder of pipelines whose `archive:` section names no location (relative to the working directory). */
  ARCHIVE_DIR: z.string().min(1).default('.tributary/archive'),
  /** Archive pipelines without an `archive:` section too, with its defaults. */
  ARCHIVE_ALL: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
};

/** Parsed archive variables. */
export interface ArchiveEnv {
  ARCHIVE_DIR: string;
  ARCHIVE_ALL: boolean;
}

/** The settings of a pipeline without an `archive:` section. */
export const DEFAULT_ARCHIVE: ArchiveSpec = archiveSpec.parse({});

/** The archive settings of `pipeline` when it is archived, else undefined. */
export function archiveOf(pipeline: Pipeline, env: Pick<ArchiveEnv, 'ARCHIVE_ALL'>): ArchiveSpec | undefined {
  return pipeline.archive ?? (env.ARCHIVE_ALL ? DEFAULT_ARCHIVE : undefined);
}

/** The bucket and prefix of an `s3://bucket/prefix` location. */
export function parseS3Location(location: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!m) throw new TributaryError('TRIB_E_CONFIG', `archive location "${location}" is not s3://<bucket>/<prefix>`);
  return { bucket: m[1]!, prefix: m[2]!.replace(/\/+$/, '') };
}

/**
 * Opens the archive store of `pipeline`: its `archive.location` (a folder relative to the
 * pipeline file, or an S3 prefix through `archive.connection`), else `ARCHIVE_DIR`. Opens it
 * whether or not archiving is on now, so history written earlier can still be read.
 */
export async function openArchiveStore(
  pipeline: Pipeline,
  env: Pick<ArchiveEnv, 'ARCHIVE_DIR'>,
  secrets: NodeJS.ProcessEnv = process.env,
): Promise<ArchiveStore> {
  const a = pipeline.archive ?? DEFAULT_ARCHIVE;
  if (!a.location) return new LocalArchiveStore(path.resolve(env.ARCHIVE_DIR));
  if (!a.location.startsWith('s3://')) return new LocalArchiveStore(path.resolve(pipeline.dir, a.location));
  const { bucket, prefix } = parseS3Location(a.location);
  const conn = a.connection ? pipeline.connections[a.connection] : undefined;
  if (conn?.kind !== 's3') {
    throw new TributaryError(
      'TRIB_E_CONFIG',
      `pipeline ${pipeline.name}: archive.connection "${a.connection ?? ''}" must name an s3 connection`,
    );
  }
  return new S3ArchiveStore(await createS3Client(conn, secrets), bucket, prefix);
}

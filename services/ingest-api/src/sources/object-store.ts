/**
 * `object_store` source: CSV, JSON and NDJSON objects landing under a prefix of an S3-compatible
 * bucket (the "landing zone" trigger). Each run lists the prefix, ingests every object not done
 * yet (ingestFile: streamed, chunked, offsets and status in KV under the object's ETag and size)
 * and moves it below `<prefix>done/` or `<prefix>failed/` (or, with `after: keep`, leaves it:
 * KV remembers it is done).
 */
import path from 'node:path';
import { objectStoreSourceSpec } from '@tributary/contract/spec';
import { sourceTimeFromMs } from '@tributary/contract/wire';
import { pullSource } from './pull-source';
import { fileStateKey, ingestFile } from './files/file-ingest';
import { ingestOptions } from './files/file-options';
import { formatFor } from './files/record-reader';
import { checkS3Connection, S3Bucket } from './files/s3-bucket';

/** Config shape of the object_store source (from the core spec). */
export const spec = objectStoreSourceSpec;

/** Creates the source: checks the connection, touches no network. */
export const create = pullSource<typeof spec>((config, deps) => {
  checkS3Connection(deps.pipeline, deps.name, config.connection);
  const opts = ingestOptions(deps.pipeline, config);
  const prefix = config.prefix;
  const done = `${prefix}done/`;
  const failed = `${prefix}failed/`;
  // Directly under the prefix or in sub-folders, but never what was already moved aside.
  const keep = (key: string): boolean => !key.startsWith(done) && !key.startsWith(failed) && opts.match.test(path.posix.basename(key));

  return {
    async run(ctx) {
      const bucket = await S3Bucket.open(deps.pipeline, config.connection);
      try {
        for (const obj of await bucket.list(prefix, keep)) {
          if (ctx.signal.aborted) return;
          const rest = obj.key.slice(prefix.length);
          const format = formatFor(obj.key, config.format);
          if (!format) {
            await ctx.deadLetter(
              {
                record: null,
                code: 'TRIB_E_PARSE',
                message: `${obj.key}: cannot tell the format from the extension (set \`format\`)`,
                location: { file: obj.key },
              },
              `file:${obj.contentId}:fatal`,
            );
            if (config.after === 'move') await bucket.move(obj.key, `${failed}${rest}`);
            continue;
          }
          if (config.after === 'keep' && (await ctx.cursors.get<{ status: string }>(fileStateKey(obj.contentId)))?.status === 'done')
            continue;
          const state = await ingestFile(
            ctx,
            {
              contentId: obj.contentId,
              name: obj.key,
              format,
              ...(obj.lastModified ? { modifiedAt: sourceTimeFromMs(obj.lastModified) } : {}),
              open: () => bucket.read(obj.key),
            },
            opts,
          );
          if (config.after === 'move') await bucket.move(obj.key, `${state.status === 'done' ? done : failed}${rest}`);
        }
      } finally {
        bucket.close();
      }
    },
  };
});

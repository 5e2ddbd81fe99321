/**
 * `file` source: CSV, JSON and NDJSON files dropped into a folder (or uploaded through
 * `PUT /v1/pipelines/{pipeline}/sources/{source}/files/{name}`, see files/upload-route.ts).
 *
 * Each run lists the files that are ready, identifies each by its content hash, ingests it
 * (ingestFile: chunked, offsets in KV, bad rows dead-lettered with file and line) and moves it to
 * `done/`, or to `failed/` when the file as a whole could not be read. Content already done (a
 * file dropped twice, or a crash between finishing and moving) is only moved.
 */
import { mkdir } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { fileSourceSpec, type Pipeline } from '@tributary/contract/spec';
import { sourceTimeFromMs } from '@tributary/contract/wire';
import { pullSource } from './pull-source';
import { ingestFile } from './files/file-ingest';
import { ingestOptions } from './files/file-options';
import { DONE_DIR, FAILED_DIR, moveInto, readyFiles, sha256File } from './files/folder';
import { formatFor } from './files/record-reader';

/** Config shape of the file source (from the core spec). */
export const spec = fileSourceSpec;

/** The watched folder of a file source: `path` relative to the pipeline file, or absolute. */
export function watchedFolder(pipeline: Pipeline, configPath: string): string {
  return path.resolve(pipeline.dir, configPath);
}

/** Creates the source: compiles its options, touches no files. */
export const create = pullSource<typeof spec>((config, deps) => {
  const dir = watchedFolder(deps.pipeline, config.path);
  const opts = ingestOptions(deps.pipeline, config);
  return {
    async run(ctx) {
      await mkdir(dir, { recursive: true });
      for (const file of await readyFiles(dir, opts.match, config.min_age)) {
        if (ctx.signal.aborted) return;
        const format = formatFor(file.name, config.format);
        const contentId = await sha256File(file.path);
        if (!format) {
          await ctx.deadLetter(
            {
              record: null,
              code: 'TRIB_E_PARSE',
              message: `${file.name}: cannot tell the format from the extension (set \`format\`)`,
              location: { file: file.name },
            },
            `file:${contentId.slice(0, 16)}:fatal`,
          );
          await moveInto(file, FAILED_DIR, contentId);
          continue;
        }
        const state = await ingestFile(
          ctx,
          { contentId, name: file.name, format, modifiedAt: sourceTimeFromMs(file.mtimeMs), open: async () => createReadStream(file.path) },
          opts,
        );
        if (state.name !== file.name)
          ctx.logger.info({ file: file.name, first: state.name }, 'same content as a file processed before: not read again');
        await moveInto(file, state.status === 'done' ? DONE_DIR : FAILED_DIR, contentId);
      }
    },
  };
});

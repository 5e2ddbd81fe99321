/**
 * `PUT /v1/pipelines/{pipeline}/sources/{source}/files/{name}`: streams an upload into a `file`
 * source's folder (never whole in memory). The body is written to a hidden temp file and renamed
 * into place when complete, so the source never reads half an upload; the next run picks it up.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { nuid } from '@nats-io/transport-node';
import { findPipeline, type Pipeline } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { Router, type Request, type Response } from 'express';
import { globToRegExp } from './glob';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

/** What the route needs from the app. */
export interface UploadRouteOptions {
  pipelines: readonly Pipeline[];
  /** Throws TRIB_E_UNAUTHORIZED unless the request may write to `pipeline` (the app's API keys). */
  authorize(req: Request, pipeline: string): void;
}

/** A free name in `dir`: `name`, or `name` with a unique suffix when a file of that name waits there. */
async function freeName(dir: string, name: string): Promise<string> {
  const taken = await stat(path.join(dir, name)).then(
    () => true,
    () => false,
  );
  if (!taken) return name;
  const ext = path.extname(name);
  return `${path.basename(name, ext)}-${nuid.next()}${ext}`;
}

/** The upload route (mount with `app.use`). */
export function fileUploadRoute(opts: UploadRouteOptions): Router {
  const router = Router();
  router.put('/v1/pipelines/:pipeline/sources/:source/files/:name', async (req: Request, res: Response) => {
    const { pipeline: pName, source, name } = req.params as { pipeline: string; source: string; name: string };
    const p = findPipeline(opts.pipelines, pName);
    if (!p) throw new TributaryError('TRIB_E_UNKNOWN_PIPELINE', `unknown pipeline "${pName}"`);
    opts.authorize(req, p.name);
    const src = p.sources[source];
    if (!src || src.kind !== 'file' || !src.upload) {
      throw new TributaryError('TRIB_E_UNKNOWN_SOURCE', `pipeline "${pName}" has no file source "${source}" that accepts uploads`);
    }
    if (!NAME_RE.test(name) || !globToRegExp(src.pattern).test(name)) {
      throw new TributaryError(
        'TRIB_E_PARSE',
        `file name "${name}" must be letters, digits, . _ - and match the source's pattern ${src.pattern}`,
      );
    }
    const declared = Number(req.get('content-length') ?? 0);
    if (declared > src.upload_max_bytes) throw new TributaryError('TRIB_E_TOO_LARGE', `upload larger than ${src.upload_max_bytes} bytes`);

    const dir = path.resolve(p.dir, src.path);
    await mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.upload-${nuid.next()}-${name}`);
    const hash = createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > src.upload_max_bytes)
          return done(new TributaryError('TRIB_E_TOO_LARGE', `upload larger than ${src.upload_max_bytes} bytes`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(req, meter, createWriteStream(tmp));
      const final = await freeName(dir, name);
      await rename(tmp, path.join(dir, final));
      res.status(202).json({ file: final, bytes, sha256: hash.digest('hex') });
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  });
  return router;
}

/**
 * The bucket of an `object_store` source, through the AWS SDK v3 S3 client (it loads as
 * CommonJS and speaks to any S3-compatible server with path-style addressing).
 */
import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
  type _Object,
} from '@aws-sdk/client-s3';
import { createS3Client } from '@tributary/archive';
import { TributaryError } from '@tributary/contract/errors';
import { type Pipeline } from '@tributary/contract/spec';

/** An object ready to ingest. */
export interface BucketObject {
  key: string;
  /** Content identity (ETag and size), key-safe. */
  contentId: string;
  size: number;
  lastModified: number;
}

/** Checks at construction time (no network) that `connection` names an s3 connection. */
export function checkS3Connection(pipeline: Pipeline, source: string, connection: string): void {
  if (pipeline.connections[connection]?.kind !== 's3') {
    throw new TributaryError(
      'TRIB_E_CONFIG',
      `source "${source}" of pipeline "${pipeline.name}": connection "${connection}" must be a declared s3 connection`,
    );
  }
}

/** A bucket with the operations the source needs. */
export class S3Bucket {
  private constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /** Opens the connection's bucket; secrets are read now, so rotated files are picked up per run. */
  static async open(pipeline: Pipeline, connection: string): Promise<S3Bucket> {
    const c = pipeline.connections[connection];
    if (c?.kind !== 's3') throw new TributaryError('TRIB_E_CONFIG', `connection "${connection}" is not an s3 connection`);
    return new S3Bucket(await createS3Client(c), c.bucket);
  }

  /** Objects under `prefix` whose key passes `keep`, oldest first, then by key. */
  async list(prefix: string, keep: (key: string) => boolean): Promise<BucketObject[]> {
    const out: BucketObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(`list ${prefix}`, () =>
        this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token })),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key.endsWith('/') || !keep(o.Key)) continue;
        out.push({ key: o.Key, contentId: contentId(o), size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => a.lastModified - b.lastModified || a.key.localeCompare(b.key));
  }

  /** Streams an object's body. */
  async read(key: string): Promise<Readable> {
    const r = await this.call(`get ${key}`, () => this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
    return r.Body as Readable;
  }

  /** Moves an object (copy, then delete: S3 has no rename). */
  async move(from: string, to: string): Promise<void> {
    await this.call(`copy ${from}`, () =>
      this.s3.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: to,
          CopySource: `${this.bucket}/${encodeURIComponent(from).replace(/%2F/g, '/')}`,
        }),
      ),
    );
    await this.call(`delete ${from}`, () => this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: from })));
  }

  /** Closes the client's sockets. */
  close(): void {
    this.s3.destroy();
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new TributaryError('TRIB_E_UNAVAILABLE', `s3 ${this.bucket}: ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** ETag (an MD5 for simple uploads, a hash of part hashes for multipart ones) plus size, in key-safe characters. */
function contentId(o: _Object): string {
  const etag = (o.ETag ?? '').replace(/"/g, '').replace(/[^A-Za-z0-9-]/g, '_');
  return `etag-${etag}-${o.Size ?? 0}`;
}

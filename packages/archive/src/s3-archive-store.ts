/**
 * The archive in an S3-compatible bucket, below a prefix. A PutObject is atomic (readers see the
 * old object or the new one), so no temporary names are needed. The SDK is loaded on first use.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { checkKey, storeUnavailable, type ArchiveStore } from './archive-store';

const sdk = () => import('@aws-sdk/client-s3');

/** A bucket prefix of archive files. */
export class S3ArchiveStore implements ArchiveStore {
  private readonly prefix: string;

  /** @param prefix Folder inside the bucket (`''` for the bucket root). */
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    prefix: string,
  ) {
    this.prefix = prefix.replace(/^\/+|\/+$/g, '');
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  private objectKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    checkKey(key);
    try {
      const { PutObjectCommand } = await sdk();
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Body: body }));
    } catch (err) {
      throw storeUnavailable(this.location, `put ${key}`, err);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    checkKey(key);
    try {
      const { GetObjectCommand } = await sdk();
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return await r.Body!.transformToByteArray();
    } catch (err) {
      throw storeUnavailable(this.location, `get ${key}`, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    let token: string | undefined;
    try {
      const { ListObjectsV2Command } = await sdk();
      do {
        const page = await this.s3.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.objectKey(prefix), ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) out.push(o.Key.slice(strip));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw storeUnavailable(this.location, `list ${prefix}`, err);
    }
    return out.sort();
  }

  close(): void {
    this.s3.destroy();
  }
}

/**
 * An AWS SDK v3 S3 client for an `s3` connection of the spec (endpoint, region, path style,
 * credentials resolved from their `env:`/`file:` references). Shared by the `object_store`
 * source and the archive's S3 store so both speak to S3-compatible servers the same way. The SDK
 * is loaded on first use: services that never touch S3 do not pay its start-up time and memory.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { z } from 'zod';
import { resolveSecret, type s3ConnectionSpec } from '@tributary/contract/spec';

/** A parsed `s3` connection. */
export type S3Connection = z.output<typeof s3ConnectionSpec>;

/** Creates a client; secrets are read now, so a rotated secret file is picked up by the next client. */
export async function createS3Client(c: S3Connection, env: NodeJS.ProcessEnv = process.env): Promise<S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3Client({
    region: c.region,
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    forcePathStyle: c.force_path_style,
    credentials: { accessKeyId: resolveSecret(c.access_key_id, env), secretAccessKey: resolveSecret(c.secret_access_key, env) },
    // Checksums only where the API requires them: S3-compatible servers differ in what they accept.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

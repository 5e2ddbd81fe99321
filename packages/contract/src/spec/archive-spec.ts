/**
 * The `archive:` section of a pipeline: where and how the loader's archiver lands the raw and
 * processed batches of the pipeline (compressed Parquet or NDJSON files, partitioned by stage,
 * source or dataset and date) so `tributary backfill` can reload them into a fresh warehouse.
 * Without the section a pipeline is archived only when the operator sets `ARCHIVE_ALL=true`
 * (then with these defaults, into `ARCHIVE_DIR`).
 */
import { z } from 'zod';
import { duration, identifier } from './common';

/** The stages whose batches can be archived. */
export const ARCHIVE_STAGES = ['raw', 'processed'] as const;
/** A stage whose batches can be archived. */
export type ArchiveStage = (typeof ARCHIVE_STAGES)[number];

/** The `archive:` section. */
export const archiveSpec = z
  .strictObject({
    format: z.enum(['parquet', 'ndjson']).default('parquet').meta({
      description:
        'File format. `parquet` (default): columnar and compressed, read directly by DuckDB, Spark, Athena, pandas; `ndjson`: one JSON line per record, gzip-compressed, readable with `zcat`.',
    }),
    location: z.string().min(1).optional().meta({
      unset: '`$ARCHIVE_DIR` (`.tributary/archive`)',
      description:
        'A folder (relative to the pipeline file unless absolute) or `s3://<bucket>/<prefix>` (with `connection`). Default: `$ARCHIVE_DIR` (`.tributary/archive`).',
    }),
    connection: identifier.optional().meta({
      description: 'The `s3` connection (under `connections:`) holding the credentials and endpoint of an `s3://` location.',
    }),
    stages: z
      .array(z.enum(ARCHIVE_STAGES))
      .min(1)
      .default(['raw', 'processed'])
      .transform((s) => [...new Set(s)])
      .meta({ description: 'Which batches to archive: `raw` (as ingested, per source), `processed` (as loaded, per dataset).' }),
    compression: z.enum(['snappy', 'gzip', 'none']).optional().meta({
      unset: '`snappy` (Parquet), `gzip` (NDJSON)',
      description: 'Compression: `snappy` (default for Parquet) or `gzip` (default for NDJSON, and possible for Parquet), or `none`.',
    }),
    flush: z
      .strictObject({
        interval: duration.default(5_000).meta({
          unset: '`5s`',
          description: 'How long the archiver gathers messages before writing a file; default `5s` (keep it well below the ack wait).',
        }),
        max_messages: z.number().int().min(1).max(1000).default(100).meta({
          description:
            'Messages (each a batch of up to 1000 records) written in one flush at most; at most the consumer max ack pending (`TRIBUTARY_MAX_ACK_PENDING`, 256).',
        }),
      })
      .default({ interval: 5_000, max_messages: 100 })
      .meta({ description: 'When the archiver writes: a file per stage, source or dataset and day, per flush.' }),
  })
  .superRefine((a, ctx) => {
    if (a.format === 'ndjson' && a.compression === 'snappy') {
      ctx.addIssue({ code: 'custom', path: ['compression'], message: 'snappy is for parquet; NDJSON takes gzip or none' });
    }
    const s3 = a.location?.startsWith('s3://') ?? false;
    if (s3 && !a.connection) ctx.addIssue({ code: 'custom', path: ['connection'], message: 'an s3:// location needs `connection`' });
    if (!s3 && a.connection) ctx.addIssue({ code: 'custom', path: ['location'], message: '`connection` is only for an s3:// location' });
  })
  .meta({ title: 'archive', description: 'Archive raw and processed batches to files, for `tributary backfill`.' });

/** The archive section as written (after defaults). */
export type ArchiveSpec = z.output<typeof archiveSpec>;

const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** Cross-reference check on the raw document: `archive.connection` names a declared `s3` connection. */
export function checkArchiveReferences(root: unknown): { path: (string | number)[]; message: string }[] {
  const doc = obj(root);
  const ref = obj(doc.archive).connection;
  if (typeof ref !== 'string') return [];
  const conn = obj(obj(doc.connections)[ref]);
  const location = obj(doc.archive).location;
  const bucket = typeof location === 'string' ? /^s3:\/\/([^/]+)/.exec(location)?.[1] : undefined;
  if (conn.kind === 's3' && bucket !== undefined && conn.bucket !== bucket) {
    return [
      { path: ['archive', 'location'], message: `bucket "${bucket}" is not the bucket of connection "${ref}" ("${String(conn.bucket)}")` },
    ];
  }
  if (conn.kind === 's3') return [];
  return [
    {
      path: ['archive', 'connection'],
      message: Object.keys(conn).length
        ? `connection "${ref}" is a ${String(conn.kind)} connection; the archive needs an s3 one`
        : `unknown connection "${ref}" (declared: ${Object.keys(obj(doc.connections)).join(', ') || 'none'})`,
    },
  ];
}

/**
 * The landing archive: stores (local folder, S3), file format and names, the writer the
 * loader's archiver uses, and `backfill`.
 */
export * from './archive-store';
export * from './local-archive-store';
export * from './s3-archive-store';
export * from './s3-client';
export * from './archive-key';
export * from './archived-message';
export * from './archive-codec';
export * from './archive-config';
export * from './archive-writer';
export * from './archive-reader';
export * from './backfill';
export * from './backfill-command';

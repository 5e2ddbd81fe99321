/**
 * @tributary/archive: the landing archive — stores (local folder, S3), file format and names, the writer the
 * loader's archiver uses, and backfill.
 */
export { extensionOf, encodeArchive, decodeArchive, type ArchiveEncoding } from './archive-codec';
export { archiveEnv, DEFAULT_ARCHIVE, archiveOf, parseS3Location, openArchiveStore, type ArchiveEnv } from './archive-config';
export { archiveDate, partitionPrefix, archiveKey, parseArchiveKey, type ArchiveExtension, type ArchiveKey } from './archive-key';
export { listArchiveFiles, type ArchiveSelection } from './archive-reader';
export { checkKey, storeUnavailable, type ArchiveStore } from './archive-store';
export { writeArchive, type ArchiveInput, type WrittenFile, type ArchiveFlush } from './archive-writer';
export { toRows, bodyLines, fromRows, type ArchivedMessage, type ArchiveRow } from './archived-message';
export { BACKFILL_HEADER, backfill, type BackfillOptions, type BackfillReport } from './backfill';
export { LocalArchiveStore } from './local-archive-store';
export { S3ArchiveStore } from './s3-archive-store';
export { createS3Client, type S3Connection } from './s3-client';

/**
 * Encodes archived messages as an archive file and decodes files back, in the two formats:
 * Parquet (hyparquet-writer / hyparquet: pure JavaScript, no native code; Snappy built in, gzip
 * through node:zlib) and NDJSON (one JSON object per row, gzip-compressed unless `none`). The
 * reader picks the format from the file's extension, so files written under an earlier setting
 * stay readable. A file that cannot be read is TRIB_E_DECODE naming it.
 */
import { promisify } from 'node:util';
import { gunzip, gunzipSync, gzip, gzipSync } from 'node:zlib';
import { TributaryError } from '@tributary/contract/errors';
import { type ArchiveSpec } from '@tributary/contract/spec';
import type { ArchiveExtension } from './archive-key';
import { fromRows, toRows, type ArchivedMessage, type ArchiveRow } from './archived-message';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Format and compression of the files to write. */
export type ArchiveEncoding = Pick<ArchiveSpec, 'format' | 'compression'>;

/** Key-value metadata written into each Parquet file's footer. */
const PARQUET_META = { key: 'tributary.archive', value: JSON.stringify({ version: 1 }) };

/** The extension of files written with `enc`. */
export function extensionOf(enc: ArchiveEncoding): ArchiveExtension {
  if (enc.format === 'parquet') return 'parquet';
  return enc.compression === 'none' ? 'ndjson' : 'ndjson.gz';
}

/** Encodes `messages` as one file. */
export async function encodeArchive(enc: ArchiveEncoding, messages: readonly ArchivedMessage[]): Promise<Uint8Array> {
  const rows = toRows(messages);
  if (enc.format === 'parquet') return encodeParquet(rows, enc.compression ?? 'snappy');
  const text = rows.map(ndjsonLine).join('\n') + '\n';
  return enc.compression === 'none' ? Buffer.from(text) : gzipAsync(text);
}

/** Decodes the file `key` (format from its extension); TRIB_E_DECODE naming `key` when it is malformed. */
export async function decodeArchive(key: string, data: Uint8Array): Promise<ArchivedMessage[]> {
  if (key.endsWith('.parquet')) return fromRows(await parquetRows(key, data), key);
  let text: string;
  if (key.endsWith('.ndjson.gz')) {
    try {
      text = (await gunzipAsync(data)).toString('utf8');
    } catch (err) {
      throw new TributaryError('TRIB_E_DECODE', `${key}: not a readable gzip file: ${(err as Error).message}`, {
        location: { file: key },
        cause: err,
      });
    }
  } else if (key.endsWith('.ndjson')) {
    text = Buffer.from(data).toString('utf8');
  } else {
    throw new TributaryError('TRIB_E_DECODE', `${key}: not an archive file (.parquet, .ndjson.gz or .ndjson)`, { location: { file: key } });
  }
  const rows = text
    .split('\n')
    .filter((l) => l !== '')
    .map((line, i) => {
      try {
        const r = JSON.parse(line) as Record<string, unknown>;
        return {
          ...r,
          ingested_at: typeof r.ingested_at === 'string' ? Date.parse(r.ingested_at) : r.ingested_at,
          headers: r.headers === null || r.headers === undefined ? null : JSON.stringify(r.headers),
          // The record is JSON inside the row; as text it is checked like a Parquet record column.
          record: r.record === null || r.record === undefined ? null : JSON.stringify(r.record),
        } as Partial<Record<keyof ArchiveRow, unknown>>;
      } catch (err) {
        throw new TributaryError('TRIB_E_DECODE', `${key}: record ${i}: not JSON: ${(err as Error).message}`, {
          location: { file: key, index: i },
          cause: err,
        });
      }
    });
  return fromRows(rows, key);
}

function ndjsonLine(r: ArchiveRow): string {
  // The record and headers are JSON already: spliced in as they are, not parsed and re-encoded.
  return (
    `{"stream_seq":${r.stream_seq},"subject":${JSON.stringify(r.subject)},"msg_id":${JSON.stringify(r.msg_id)},` +
    `"record_index":${r.record_index === null ? 'null' : r.record_index},"ingested_at":"${new Date(r.ingested_at).toISOString()}",` +
    `"headers":${r.headers ?? 'null'},"record":${r.record ?? 'null'}}`
  );
}

async function encodeParquet(rows: ArchiveRow[], compression: 'snappy' | 'gzip' | 'none'): Promise<Uint8Array> {
  // ESM-only package: loaded with import() (Node 20.19+ and jest's swc transform handle it).
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const buf = parquetWriteBuffer({
    codec: compression === 'gzip' ? 'GZIP' : compression === 'none' ? 'UNCOMPRESSED' : 'SNAPPY',
    compressors: { GZIP: (input: Uint8Array) => gzipSync(input) },
    kvMetadata: [PARQUET_META],
    columnData: [
      { name: 'stream_seq', data: rows.map((r) => BigInt(r.stream_seq)), type: 'INT64', nullable: false },
      { name: 'subject', data: rows.map((r) => r.subject), type: 'STRING', nullable: false },
      { name: 'msg_id', data: rows.map((r) => r.msg_id), type: 'STRING', nullable: false },
      { name: 'record_index', data: rows.map((r) => r.record_index), type: 'INT32' },
      { name: 'ingested_at', data: rows.map((r) => new Date(r.ingested_at)), type: 'TIMESTAMP', nullable: false },
      { name: 'headers', data: rows.map((r) => r.headers), type: 'JSON' },
      { name: 'record', data: rows.map((r) => r.record), type: 'JSON' },
    ],
  });
  return new Uint8Array(buf);
}

async function parquetRows(key: string, data: Uint8Array): Promise<Partial<Record<keyof ArchiveRow, unknown>>[]> {
  const { parquetReadObjects } = await import('hyparquet');
  let rows: Record<string, unknown>[];
  try {
    const file = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    rows = await parquetReadObjects({ file, compressors: { GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)) } });
  } catch (err) {
    throw new TributaryError('TRIB_E_DECODE', `${key}: not a readable Parquet file: ${(err as Error).message}`, {
      location: { file: key },
      cause: err,
    });
  }
  return rows.map((r) => ({
    ...r,
    stream_seq: typeof r.stream_seq === 'bigint' ? Number(r.stream_seq) : r.stream_seq,
    ingested_at: r.ingested_at instanceof Date ? r.ingested_at.getTime() : r.ingested_at,
  }));
}

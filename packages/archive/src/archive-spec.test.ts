import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { archiveOf, openArchiveStore, LocalArchiveStore } from './index';
import { loadPipelineFile, parsePipelineSpec } from '@tributary/contract/spec';

const base = `pipeline: shop
connections:
  lake: { kind: s3, bucket: lake, access_key_id: env:K, secret_access_key: env:S }
  api: { kind: http, base_url: 'http://x' }
sources:
  orders_in: { kind: push }
datasets:
  orders: { from: orders_in, fields: { id: integer } }
`;
const problems = (archive: string) =>
  parsePipelineSpec(`${base}archive: ${archive}\n`, 'shop.yaml').problems.map((p) => `${p.line}: ${p.field}: ${p.message}`);

describe('archive spec', () => {
  it('fills in its defaults: Parquet, both stages, 5 s flushes', () => {
    expect(parsePipelineSpec(`${base}archive: {}\n`, 'shop.yaml').spec!.archive).toEqual({
      format: 'parquet',
      stages: ['raw', 'processed'],
      flush: { interval: 5_000, max_messages: 100 },
    });
  });

  it('names each mistake with its line and field', () => {
    expect(problems('{ format: ndjson, compression: snappy }')).toEqual([
      '9: archive.compression: snappy is for parquet; NDJSON takes gzip or none',
    ]);
    expect(problems('{ location: s3://lake/x }')).toEqual(['9: archive.connection: an s3:// location needs `connection`']);
    expect(problems('{ location: s3://lake/x, connection: nope }')).toEqual([
      '9: archive.connection: unknown connection "nope" (declared: lake, api)',
    ]);
    expect(problems('{ location: s3://lake/x, connection: api }')).toEqual([
      '9: archive.connection: connection "api" is a http connection; the archive needs an s3 one',
    ]);
    expect(problems('{ location: s3://other/x, connection: lake }')).toEqual([
      '9: archive.location: bucket "other" is not the bucket of connection "lake" ("lake")',
    ]);
    expect(problems('{ stages: [loaded] }')).toHaveLength(1);
  });

  it('archives a pipeline without the section only with ARCHIVE_ALL, into ARCHIVE_DIR; a location is relative to the pipeline file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-archive-spec-'));
    try {
      writeFileSync(path.join(dir, 'a.yaml'), base);
      writeFileSync(path.join(dir, 'b.yaml'), `${base}archive: { location: ../landing }\n`);
      const plain = loadPipelineFile(path.join(dir, 'a.yaml'));
      const declared = loadPipelineFile(path.join(dir, 'b.yaml'));
      expect(archiveOf(plain, { ARCHIVE_ALL: false })).toBeUndefined();
      expect(archiveOf(plain, { ARCHIVE_ALL: true })).toMatchObject({ format: 'parquet' });
      expect(archiveOf(declared, { ARCHIVE_ALL: false })).toMatchObject({ location: '../landing' });
      const env = { ARCHIVE_DIR: path.join(dir, 'env-dir') };
      expect(((await openArchiveStore(plain, env)) as LocalArchiveStore).root).toBe(env.ARCHIVE_DIR);
      expect(((await openArchiveStore(declared, env)) as LocalArchiveStore).root).toBe(path.join(path.dirname(dir), 'landing'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { loadPipelineFile } from '@tributary/contract/spec';
import { landingArchive, type ArchivePartition } from './table-archive';

const yaml = (name: string, archive: string) => `
pipeline: ${name}
${archive}
sources:
  in: { kind: push }
datasets:
  events:
    from: in
    fields: { event_id: string }
`;

describe('landingArchive', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'trib-landing-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const load = (name: string, archive: string) => {
    writeFileSync(path.join(dir, `${name}.yaml`), yaml(name, archive));
    return loadPipelineFile(path.join(dir, `${name}.yaml`));
  };
  async function* chunks(text: string): AsyncIterable<Buffer> {
    const gz = gzipSync(text);
    yield gz.subarray(0, 10);
    yield gz.subarray(10);
  }

  it("writes a partition of a pipeline with a landing archive into that archive's store, beside its batches", async () => {
    const archived = load('with_archive', 'archive: { location: landing, format: ndjson }');
    const plain = load('plain', '');
    const fallback: string[] = [];
    const local: ArchivePartition = async (t) => {
      fallback.push(`${t.pipeline}/${t.table}/${t.key}`);
      return 'fallback';
    };
    const hook = landingArchive([archived, plain], { ARCHIVE_DIR: path.join(dir, 'default'), ARCHIVE_ALL: false }, local);

    const target = { pipeline: 'with_archive', table: 'fact_event', partition: 'fact_event_p20260101', key: 'fact_event_p20260101' };
    const where = await hook(target, chunks('{"event_id":"a"}\n{"event_id":"b"}\n'));
    const file = path.join(dir, 'landing', 'with_archive', 'tables', 'fact_event', 'fact_event_p20260101.ndjson.gz');
    expect(where).toBe(`${path.join(dir, 'landing')}/with_archive/tables/fact_event/fact_event_p20260101.ndjson.gz`);
    expect(gunzipSync(readFileSync(file)).toString('utf8')).toBe('{"event_id":"a"}\n{"event_id":"b"}\n');

    // A pipeline without an archive keeps retention's own folder.
    expect(await hook({ ...target, pipeline: 'plain' }, chunks('{}\n'))).toBe('fallback');
    expect(fallback).toEqual(['plain/fact_event/fact_event_p20260101']);
  });

  it('with ARCHIVE_ALL, archives every pipeline into ARCHIVE_DIR', async () => {
    const plain = load('plain2', '');
    const hook = landingArchive([plain], { ARCHIVE_DIR: path.join(dir, 'all'), ARCHIVE_ALL: true }, () =>
      Promise.reject(new Error('not used')),
    );
    await hook({ pipeline: 'plain2', table: 't', partition: 't_default', key: 't_default.2' }, chunks('{"x":1}\n'));
    expect(gunzipSync(readFileSync(path.join(dir, 'all', 'plain2', 'tables', 't', 't_default.2.ndjson.gz'))).toString('utf8')).toBe(
      '{"x":1}\n',
    );
  });
});

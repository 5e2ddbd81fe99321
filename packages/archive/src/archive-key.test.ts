import { archiveDate, archiveKey, parseArchiveKey } from './archive-key';

describe('archive keys', () => {
  it('partition by pipeline, stage, name and UTC day, named by the first and last stream sequence', () => {
    const key = archiveKey({
      pipeline: 'traffic',
      stage: 'raw',
      name: 'gantry',
      date: archiveDate(Date.UTC(2026, 10, 21, 23, 59)),
      firstSeq: 42,
      lastSeq: 107,
      ext: 'parquet',
    });
    expect(key).toBe('traffic/raw/gantry/date=2026-11-21/000000000042-000000000107.parquet');
    expect(parseArchiveKey(key)).toEqual({
      key,
      pipeline: 'traffic',
      stage: 'raw',
      name: 'gantry',
      date: '2026-11-21',
      firstSeq: 42,
      lastSeq: 107,
      ext: 'parquet',
    });
  });

  it('does not take other names for archive files', () => {
    for (const k of [
      'traffic/raw/gantry/date=2026-11-21/notes.txt',
      'traffic/loaded/t/date=2026-11-21/1-2.parquet',
      'traffic/raw/gantry/1-2.parquet',
      '../raw/g/date=2026-11-21/1-2.parquet',
    ])
      expect(parseArchiveKey(k)).toBeUndefined();
  });
});

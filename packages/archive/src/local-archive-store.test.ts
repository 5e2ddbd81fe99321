import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalArchiveStore } from './local-archive-store';

describe('LocalArchiveStore', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'trib-archive-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes, replaces, reads and lists files by prefix, leaving no temporary files', async () => {
    const store = new LocalArchiveStore(dir);
    await store.put('p/raw/s/date=2026-01-01/1-2.parquet', Buffer.from('one'));
    await store.put('p/raw/s/date=2026-01-01/1-2.parquet', Buffer.from('two'));
    await store.put('p/raw/s/date=2026-01-02/3-3.parquet', Buffer.from('three'));
    await store.put('p/processed/d/date=2026-01-01/4-4.parquet', Buffer.from('four'));
    expect(Buffer.from(await store.get('p/raw/s/date=2026-01-01/1-2.parquet')).toString()).toBe('two');
    expect(await store.list('p/raw/')).toEqual(['p/raw/s/date=2026-01-01/1-2.parquet', 'p/raw/s/date=2026-01-02/3-3.parquet']);
    expect(await store.list('p/raw/s/date=2026-01-02')).toEqual(['p/raw/s/date=2026-01-02/3-3.parquet']);
    expect(await store.list('q/')).toEqual([]);
    expect(readdirSync(path.join(dir, 'p/raw/s/date=2026-01-01'))).toEqual(['1-2.parquet']);
  });

  it('refuses keys that would leave its folder', async () => {
    const store = new LocalArchiveStore(dir);
    await expect(store.put('../escape', Buffer.from('x'))).rejects.toThrow('invalid archive key');
    await expect(store.get('a//b')).rejects.toThrow('invalid archive key');
  });

  it('reports a folder it cannot write as retryable', async () => {
    writeFileSync(path.join(dir, 'a-file'), 'x');
    const store = new LocalArchiveStore(path.join(dir, 'a-file'));
    await expect(store.put('a/b', Buffer.from('x'))).rejects.toMatchObject({ code: 'TRIB_E_UNAVAILABLE', retryable: true });
  });
});

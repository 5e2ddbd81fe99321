/**
 * Previews of DLQ fixes: per record, what the pipeline would do (load into which table, filter,
 * dead-letter and why), with stateful steps reading the real buckets through an overlay that
 * keeps the preview's own writes to itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPipelineFile } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { memoryKv } from './memory-kv';
import { previewRecords } from './preview';
import { PipelineRunner } from './pipeline-runner';

const KEY = 'a-test-hmac-key-of-16+';
const TRAFFIC = loadPipelineFile(path.resolve(__dirname, '../../../pipelines/traffic.yaml'));
const passage = (over: Rec = {}): Rec => ({
  event_id: 'e-1',
  gantry_id: 'G007',
  plate: 'AB12 CDE',
  speed_mph: 50,
  lane: 2,
  passengers: 1,
  observed_at: '2026-01-02T03:04:05Z',
  ...over,
});

describe('previewRecords', () => {
  it('tells per record whether it would load (with the row), be filtered, or be dead-lettered again naming the field', async () => {
    const results = await previewRecords(
      TRAFFIC,
      KEY,
      {},
      {
        source: 'gantry',
        records: [passage(), passage({ speed_mph: 0 }), passage({ lane: 0 }), 'not a record'],
      },
    );
    expect(results.map((r) => r.outcome)).toEqual(['load', 'filtered', 'dead_letter', 'dead_letter']);
    expect(results[0]!.tables).toEqual([
      { table: 'fact_passage', dataset: 'passages', row: expect.objectContaining({ event_id: 'e-1', speed_kmh: 80.5, lane: 2 }) },
    ]);
    expect(results[1]!.filtered).toEqual(['passages']);
    expect(results[2]!.errors).toEqual([
      expect.objectContaining({ stage: 'transform', dataset: 'passages', code: 'TRIB_E_VALIDATION', field: 'lane' }),
    ]);
    expect(results[3]!.errors[0]!.message).toBe('a record must be a JSON object');
  });

  it('reads the real dedupe keys and writes none of its own', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tributary-preview-'));
    try {
      const file = path.join(dir, 'p.yaml');
      writeFileSync(
        file,
        [
          'pipeline: p',
          'sources: { s: { kind: push } }',
          'datasets:',
          '  d:',
          '    from: s',
          '    fields: { id: string }',
          '    steps: [{ dedupe: { key: [id] } }]',
          'tables: { t: { from: d, mode: append } }',
          '',
        ].join('\n'),
      );
      const pipeline = loadPipelineFile(file);
      const dedupe = memoryKv();
      // The live pipeline already kept id "a".
      const live = new PipelineRunner(pipeline, KEY);
      await live.open({ dedupe });
      await live.run('s', [{ id: 'a' }], 'live-1');
      const before: string[] = [];
      for await (const k of await dedupe.keys()) before.push(k);
      const r = await previewRecords(pipeline, KEY, { dedupe }, { source: 's', records: [{ id: 'a' }, { id: 'b' }, { id: 'b' }] });
      expect(r.map((x) => x.outcome)).toEqual(['filtered', 'load', 'filtered']);
      const keys: string[] = [];
      for await (const k of await dedupe.keys()) keys.push(k);
      expect(keys).toEqual(before);
      expect(before).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

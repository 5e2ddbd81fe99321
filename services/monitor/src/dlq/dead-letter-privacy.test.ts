import { loadPipelines } from '@tributary/contract/spec';
import path from 'node:path';
import type { DeadLetterView } from '@tributary/contract/monitor-api';
import { deadLetterMasker } from './dead-letter-privacy';

const pipelines = loadPipelines(path.resolve(__dirname, '../../../../pipelines/traffic.yaml'));

const letter = (over: Partial<DeadLetterView>): DeadLetterView => ({
  seq: 1,
  msg_id: 'm',
  pipeline: 'traffic',
  stage: 'ingest',
  name: 'gantry',
  error: { code: 'TRIB_E_VALIDATION', message: 'plate AB12CDE is not a plate', location: { field: 'plate' } },
  record: { plate: 'AB12CDE', speed_mph: 40 },
  original: { msgId: 'gantry:1', index: 0 },
  replay_subject: null,
  attempts: 1,
  ingested_at: null,
  failed_at: null,
  status: 'open',
  status_at: null,
  schema_fingerprint: null,
  ...over,
});

describe('dead-letter masking', () => {
  const mask = deadLetterMasker(pipelines);

  it('masks a pseudonymised field in the record and its value wherever the error message quotes it', () => {
    const d = mask(letter({}));
    expect(d.record).toEqual({ plate: '***', speed_mph: 40 });
    expect(d.error.message).toBe('plate *** is not a plate');
  });

  it('masks the value in every reason of a record with several', () => {
    const details = [
      { field: 'plate', message: 'plate AB12CDE is not a plate' },
      { field: 'speed_mph', message: 'speed_mph must be >= 0' },
    ];
    const d = mask(letter({ error: { code: 'TRIB_E_VALIDATION', message: '2 problems: plate AB12CDE ...', location: {}, details } }));
    expect(d.error.details).toEqual([
      { field: 'plate', message: 'plate *** is not a plate' },
      { field: 'speed_mph', message: 'speed_mph must be >= 0' },
    ]);
    expect(d.error.message).toBe('2 problems: plate *** ...');
  });

  it('leaves dead letters of pipelines without personal fields, and other fields, as they are', () => {
    const other = letter({ pipeline: 'unknown' });
    expect(mask(other)).toBe(other);
    expect(mask(letter({ record: { speed_mph: 40 } })).record).toEqual({ speed_mph: 40 });
  });
});

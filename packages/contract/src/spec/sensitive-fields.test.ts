import { MASKED, maskFields, sensitiveFields } from './sensitive-fields';
import { loadPipelineFile } from './load-pipeline';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../../..');

describe('sensitive fields', () => {
  it('are the fields a map step pseudonymises and those marked pii', () => {
    const traffic = loadPipelineFile(path.join(ROOT, 'pipelines/traffic.yaml'));
    expect([...sensitiveFields(traffic)]).toEqual(['plate']);
  });

  it('are masked by name at any depth, leaving other values and the input as they are', () => {
    const record = { plate: 'AB12CDE', speed: 3, nested: { plate: 'X', ok: 1 }, list: [{ plate: 'Y' }], none: { plate: null } };
    expect(maskFields(record, new Set(['plate']))).toEqual({
      plate: MASKED,
      speed: 3,
      nested: { plate: MASKED, ok: 1 },
      list: [{ plate: MASKED }],
      none: { plate: null },
    });
    expect(record.plate).toBe('AB12CDE');
  });
});

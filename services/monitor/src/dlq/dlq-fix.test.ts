/**
 * DLQ fixes in JSONata: `set` evaluates every field on the record as stored (like a `map` step),
 * `expression` gives the whole new record, `records` replaces named ones; a fix that fails on a
 * record says why for that record; `$hmac` and invalid expressions are refused up front.
 */
import type { DeadLetterView } from '@tributary/contract/monitor-api';
import { compileFix, fixShape } from './dlq-fix';

const dl = (seq: number, record: unknown): DeadLetterView => ({
  seq,
  msg_id: `m-${seq}`,
  pipeline: 'traffic',
  stage: 'ingest',
  name: 'gantry',
  error: { code: 'TRIB_E_VALIDATION', message: 'lane must be >= 1', location: { field: 'lane' } },
  record,
  original: null,
  replay_subject: 'trib.raw.traffic.gantry',
  attempts: 1,
  ingested_at: null,
  failed_at: null,
  schema_fingerprint: null,
  status: 'open',
  status_at: null,
});

describe('compileFix', () => {
  it('sets fields from the record as stored, drops a field set to nothing, and says whether it changed', async () => {
    const fix = compileFix({ set: { lane: '$max([lane, 1])', speed_mph: 'lane * 10', note: 'missing_field' } });
    expect(await fix(dl(1, { lane: 0, speed_mph: 5, note: 'x' }))).toEqual({ record: { lane: 1, speed_mph: 0 }, changed: true });
    expect(await fix(dl(2, { lane: 3, speed_mph: 30 }))).toEqual({ record: { lane: 3, speed_mph: 30 }, changed: false });
  });

  it('gives the whole record from an expression, and refuses a result that is not a record', async () => {
    const fix = compileFix({ expression: '$merge([$, {"lane": 1}])' });
    expect(await fix(dl(1, { lane: 0, id: 'a' }))).toEqual({ record: { lane: 1, id: 'a' }, changed: true });
    expect(await compileFix({ expression: 'lane' })(dl(1, { lane: 0 }))).toEqual({ error: 'the expression gave 0, not a record' });
  });

  it('replaces only the named records with their edits', async () => {
    const fix = compileFix({ records: { '7': { lane: 2 } } });
    expect(await fix(dl(7, { lane: 0 }))).toEqual({ record: { lane: 2 }, changed: true });
    expect(await fix(dl(8, { lane: 0 }))).toEqual({ record: { lane: 0 }, changed: false });
  });

  it('says why for a record it cannot fix: a whole message kept as text', async () => {
    expect(await compileFix({ set: { lane: '1' } })(dl(1, 'not json'))).toEqual({
      error: 'the record is not a JSON object (a whole message kept as text?): edit it as JSON instead',
    });
  });

  it('refuses $hmac and invalid expressions before anything runs, and a fix of two kinds', () => {
    expect(() => compileFix({ set: { plate: '$hmac(plate)' } })).toThrow(/\$hmac is not available in a fix/);
    expect(() => compileFix({ expression: '$merge([$,' })).toThrow(/fix.expression: invalid expression/);
    expect(fixShape.safeParse({ expression: '$', set: { a: '1' } }).success).toBe(false);
    expect(fixShape.safeParse({}).success).toBe(false);
  });
});

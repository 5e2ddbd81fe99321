import { H, makeHeaders } from '@tributary/contract/wire';
import { foldMessage } from './folded-message';

const msg = (subject: string, seq: number, headers: Record<string, string | number | undefined>, body = '') => ({
  subject,
  seq,
  headers: makeHeaders(headers),
  data: Buffer.from(body),
});

describe('foldMessage', () => {
  it('reads a raw batch into a stream_log row named after its source', () => {
    const f = foldMessage(
      'raw',
      msg('trib.raw.traffic.gantry', 7, {
        'Nats-Msg-Id': 'gantry:abc',
        [H.pipeline]: 'traffic',
        [H.source]: 'gantry',
        [H.count]: 12,
        [H.ingestedAt]: Date.UTC(2025, 0, 2, 3, 4, 5),
      }),
    );
    expect(f.problems).toEqual([]);
    expect(f.deadLetter).toBeUndefined();
    expect(f.row).toEqual({
      stream: 'raw',
      msgId: 'gantry:abc',
      pipeline: 'traffic',
      name: 'gantry',
      stage: null,
      errorCode: null,
      records: 12,
      filtered: 0,
      routed: 0,
      ingestedAt: '2025-01-02T03:04:05.000Z',
      seq: 7,
      replayOf: null,
    });
  });

  it('marks a batch the DLQ console replayed with the dead letter it came from, so it counts as replayed', () => {
    const headers = { 'Nats-Msg-Id': 'replay:41', [H.pipeline]: 'traffic', [H.source]: 'gantry', [H.count]: 1, [H.ingestedAt]: 1 };
    expect(foldMessage('raw', msg('trib.raw.traffic.gantry', 8, { ...headers, [H.replayOf]: '41' })).row.replayOf).toBe(41);
    const bad = foldMessage('raw', msg('trib.raw.traffic.gantry', 8, { ...headers, [H.replayOf]: 'x' }));
    expect(bad.row.replayOf).toBeNull();
    expect(bad.problems.join('\n')).toMatch(/Trib-Replay-Of "x" is not a DLQ sequence/);
  });

  it('reads records and filtered counts of a processed batch, including an empty one', () => {
    const f = foldMessage(
      'processed',
      msg('trib.processed.traffic.passages', 3, {
        'Nats-Msg-Id': 'gantry:abc:passages',
        [H.pipeline]: 'traffic',
        [H.dataset]: 'passages',
        [H.count]: 0,
        [H.filtered]: 4,
        [H.ingestedAt]: 1000,
      }),
    );
    expect(f.problems).toEqual([]);
    expect(f.row).toMatchObject({ stream: 'processed', name: 'passages', records: 0, filtered: 4, ingestedAt: '1970-01-01T00:00:01.000Z' });
  });

  it('reads how many of the filtered records the pipeline counts elsewhere (Trib-Routed), never more than were filtered', () => {
    const f = foldMessage(
      'processed',
      msg('trib.processed.shop.orders', 4, {
        'Nats-Msg-Id': 'x:orders',
        [H.pipeline]: 'shop',
        [H.dataset]: 'orders',
        [H.count]: 2,
        [H.filtered]: 5,
        [H.routed]: 4,
        [H.ingestedAt]: 1000,
      }),
    );
    expect(f.problems).toEqual([]);
    expect(f.row).toMatchObject({ name: 'orders', records: 2, filtered: 5, routed: 4 });
    const over = foldMessage(
      'processed',
      msg('trib.processed.shop.orders', 5, {
        'Nats-Msg-Id': 'y:orders',
        [H.count]: 0,
        [H.filtered]: 1,
        [H.routed]: 3,
        [H.ingestedAt]: 1000,
      }),
    );
    expect(over.row.routed).toBe(1);
  });

  it('records what it can when headers are missing or malformed, and says what was wrong', () => {
    const f = foldMessage('raw', msg('trib.raw.traffic.gantry', 9, { [H.count]: 'many', [H.ingestedAt]: 'yesterday' }));
    expect(f.row).toEqual({
      stream: 'raw',
      msgId: 'seq:9',
      pipeline: 'traffic',
      name: 'gantry',
      stage: null,
      errorCode: null,
      records: 0,
      filtered: 0,
      routed: 0,
      ingestedAt: null,
      seq: 9,
      replayOf: null,
    });
    expect(f.problems).toHaveLength(5);
    expect(f.problems.join('\n')).toMatch(/Nats-Msg-Id missing/);
    expect(f.problems.join('\n')).toMatch(/Trib-Count "many"/);
    expect(f.problems.join('\n')).toMatch(/Trib-Ingested-At "yesterday"/);
  });

  it('trusts the subject over a routing header that disagrees with it', () => {
    const f = foldMessage(
      'raw',
      msg('trib.raw.traffic.gantry', 1, {
        'Nats-Msg-Id': 'x',
        [H.pipeline]: 'other',
        [H.source]: 'gantry',
        [H.count]: 1,
        [H.ingestedAt]: 1,
      }),
    );
    expect(f.row.pipeline).toBe('traffic');
    expect(f.problems).toEqual([expect.stringMatching(/disagrees with the subject/)]);
  });

  it('turns a dead letter into a stream_log row and a browsable dead_letters row', () => {
    const body = {
      pipeline: 'traffic',
      stage: 'transform',
      name: 'passages',
      record: { plate: 'AB\u0000C', speed: -1 },
      error: { code: 'TRIB_E_VALIDATION', message: 'speed must be >= 0', location: { field: 'speed' } },
      attempts: 1,
      replaySubject: 'trib.raw.traffic.gantry',
      original: { stream: 'TRIB_RAW', subject: 'trib.raw.traffic.gantry', seq: 4, msgId: 'm1', index: 2 },
      ingestedAt: 5000,
      failedAt: '2025-01-01T00:00:00.000Z',
    };
    const f = foldMessage(
      'dlq',
      msg(
        'trib.dlq.traffic.transform.passages',
        11,
        {
          'Nats-Msg-Id': 'm1:passages:2',
          [H.pipeline]: 'traffic',
          [H.stage]: 'transform',
          [H.name]: 'passages',
          [H.count]: 1,
          [H.errorCode]: 'TRIB_E_VALIDATION',
          [H.ingestedAt]: 5000,
          [H.schema]: 'json_schema:0123456789abcdef',
        },
        JSON.stringify(body),
      ),
    );
    expect(f.problems).toEqual([]);
    expect(f.row).toMatchObject({ stream: 'dlq', stage: 'transform', name: 'passages', errorCode: 'TRIB_E_VALIDATION', records: 1 });
    expect(f.deadLetter).toEqual({
      seq: 11,
      msgId: 'm1:passages:2',
      pipeline: 'traffic',
      stage: 'transform',
      name: 'passages',
      errorCode: 'TRIB_E_VALIDATION',
      errorMessage: 'speed must be >= 0',
      errorLocation: '{"field":"speed"}',
      // PostgreSQL refuses NUL in jsonb: it is replaced, the rest is kept.
      record: '{"plate":"AB\uFFFDC","speed":-1}',
      original: JSON.stringify(body.original),
      replaySubject: 'trib.raw.traffic.gantry',
      attempts: 1,
      ingestedAt: '1970-01-01T00:00:05.000Z',
      failedAt: '2025-01-01T00:00:00.000Z',
      schemaFingerprint: 'json_schema:0123456789abcdef',
      errorDetails: null,
      errorFields: ['speed'],
    });
  });

  it('keeps every reason of a record with several, and every field they name', () => {
    const details = [
      { field: 'speed', message: 'speed must be >= 0' },
      { field: 'lane', message: 'lane must be >= 1' },
      { field: 'speed', message: 'speed must be a multiple of 0.5' },
      { message: 'record must have 9 properties' },
    ];
    const body = {
      record: { speed: -1, lane: 0 },
      error: { code: 'TRIB_E_VALIDATION', message: '4 problems: ...', location: { index: 0, field: 'speed' }, details, more: 2 },
    };
    const f = foldMessage(
      'dlq',
      msg('trib.dlq.traffic.ingest.gantry', 12, { 'Nats-Msg-Id': 'x:dlq:0', [H.count]: 1, [H.ingestedAt]: 1 }, JSON.stringify(body)),
    );
    expect(f.deadLetter).toMatchObject({ errorDetails: JSON.stringify(details), errorFields: ['speed', 'lane'] });
  });

  it('keeps a dead letter whose body is not JSON, counted once, with routing from the subject', () => {
    const f = foldMessage('dlq', msg('trib.dlq.traffic.ingest.gantry', 2, { 'Nats-Msg-Id': 'd1' }, 'not json'));
    expect(f.row).toMatchObject({ pipeline: 'traffic', stage: 'ingest', name: 'gantry', records: 1, errorCode: null });
    expect(f.deadLetter).toMatchObject({ stage: 'ingest', name: 'gantry', record: null, errorMessage: null });
    expect(f.problems.join('\n')).toMatch(/not JSON/);
  });
});

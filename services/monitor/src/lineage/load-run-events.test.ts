import { completedLoadEvents, failedLoadEvents, runIdOf } from './load-run-events';
import { runEvent } from './openlineage-model';

const naming = {
  namespace: 'tributary',
  natsNamespace: 'nats://nats:4222',
  postgresNamespace: 'postgres://db:5432',
  database: 'tributary',
};

describe('OpenLineage load run events', () => {
  it('derives the same UUID for the same load, a different one for another', () => {
    expect(runIdOf('a')).toBe(runIdOf('a'));
    expect(runIdOf('a')).not.toBe(runIdOf('b'));
    expect(runIdOf('a')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('describes a committed load as a valid START and COMPLETE of one run', () => {
    const [start, complete] = completedLoadEvents(
      {
        pipeline: 'traffic',
        table: 'fact_passage',
        dataset: 'passages',
        messages: 2,
        records: 40,
        written: 39,
        firstSeq: 7,
        lastSeq: 8,
        loadedAt: '2026-01-01T00:00:01.000Z',
        startedAt: '2026-01-01T00:00:00.900Z',
        traceId: '0af7651916cd43dd8448eb211c80319c',
      },
      naming,
    );
    for (const e of [start, complete]) runEvent.parse(e);
    expect(start).toMatchObject({
      eventType: 'START',
      eventTime: '2026-01-01T00:00:00.900Z',
      job: { namespace: 'tributary', name: 'traffic.load.fact_passage' },
    });
    expect(complete!.run.runId).toBe(start!.run.runId);
    expect(complete!.inputs).toEqual([{ namespace: 'nats://nats:4222', name: 'trib.processed.traffic.passages' }]);
    expect(complete!.outputs![0]).toMatchObject({ namespace: 'postgres://db:5432', name: 'tributary.warehouse.fact_passage' });
    expect(complete!.outputs![0]!.outputFacets!.outputStatistics).toMatchObject({ rowCount: 39 });
    expect(complete!.run.facets!.tributary).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      streamSeqRange: { first: 7, last: 8 },
      records: 40,
    });
  });

  it('names the models that scored the loaded records in the tributary run facet', () => {
    const model = 'fraud@1 sha256:4bd1301e4279b3e6278980bdf35f7740822605803fb39123ac9e22179cb0b583';
    const base = {
      pipeline: 'p',
      table: 't',
      dataset: 'd',
      messages: 1,
      records: 1,
      written: 1,
      firstSeq: 1,
      lastSeq: 1,
      loadedAt: '2026-01-01T00:00:01.000Z',
    };
    const [, complete] = completedLoadEvents({ ...base, models: [model] }, naming);
    runEvent.parse(complete);
    expect(complete!.run.facets!.tributary).toMatchObject({ models: [model] });
    expect(completedLoadEvents(base, naming)[1]!.run.facets!.tributary).not.toHaveProperty('models');
  });

  it('describes a dead-lettered message as START and FAIL with the error, one run per table', () => {
    const events = failedLoadEvents(
      {
        pipeline: 'p',
        dataset: 'd',
        tables: ['a', 'b'],
        seq: 3,
        msgId: 'm',
        records: 1,
        error: 'TRIB_E_DECODE: bad',
        failedAt: '2026-01-01T00:00:00Z',
      },
      naming,
    );
    expect(events.map((e) => `${e.eventType} ${e.job.name}`)).toEqual([
      'START p.load.a',
      'FAIL p.load.a',
      'START p.load.b',
      'FAIL p.load.b',
    ]);
    for (const e of events) runEvent.parse(e);
    expect(events[1]!.run.facets!.errorMessage).toMatchObject({ message: 'TRIB_E_DECODE: bad' });
  });

  it('rejects an event missing what the spec requires', () => {
    expect(runEvent.safeParse({ eventTime: 'now', run: { runId: 'x' }, job: {} }).success).toBe(false);
  });
});

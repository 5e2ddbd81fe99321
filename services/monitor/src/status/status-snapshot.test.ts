import type { Pipeline } from '@tributary/contract/spec';
import type { SlotLag } from '@tributary/contract/monitor-api';
import { cdcCaughtUp } from './status-snapshot';
import type { PipelineStatus } from './pipeline-status';

/** A pipeline with the given sources, as far as cdcCaughtUp reads it. */
const pipeline = (sources: Record<string, { kind: string }>): Pipeline => ({ name: 'p', sources }) as unknown as Pipeline;
const status = (freshness: number): PipelineStatus => ({ sla: { freshness_seconds: 5 }, freshness_seconds: freshness }) as PipelineStatus;
const slot = (lag: number | null): SlotLag => ({
  source: 'db',
  slot: 's',
  lag_bytes: lag === null ? null : 100,
  lag_seconds: lag,
  active: true,
});

describe('a CDC pipeline caught up with its source (its source freshness is then 0)', () => {
  const cdc = pipeline({ db: { kind: 'postgres_cdc' } });

  it('is caught up while every slot is current within the SLA and nothing accepted waits', () => {
    expect(cdcCaughtUp(cdc, status(0), [slot(0.4)])).toBe(true);
  });

  it('is not while a slot is stuck behind the source beyond the SLA (the ingest-api stopped), unread, or missing', () => {
    expect(cdcCaughtUp(cdc, status(0), [slot(6)])).toBe(false);
    expect(cdcCaughtUp(cdc, status(0), [slot(null)])).toBe(false);
    expect(cdcCaughtUp(cdc, status(0), [])).toBe(false);
    expect(cdcCaughtUp(cdc, status(0), undefined)).toBe(false);
  });

  it('is not while accepted records wait to be loaded beyond the SLA, nor for a pipeline with other sources', () => {
    expect(cdcCaughtUp(cdc, status(9), [slot(0)])).toBe(false);
    expect(cdcCaughtUp(pipeline({ db: { kind: 'postgres_cdc' }, hook: { kind: 'push' } }), status(0), [slot(0)])).toBe(false);
  });
});

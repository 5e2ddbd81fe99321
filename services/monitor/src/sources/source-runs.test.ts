import type { Pipeline } from '@tributary/contract/spec';
import type { SourceScheduleState } from '@tributary/runtime/nats';
import type { PipelineStatus } from '../status/pipeline-status';
import { sourceConditions } from '../alerts/source-rules';
import { sourceRunView } from './source-runs';

const NOW = 1_800_000_000_000;
const MIN = 60_000;
const pipeline = {
  name: 'p',
  slaFreshnessMs: 10 * MIN,
  sources: { tm: { kind: 'rest', schedule: { every: 15 * MIN } }, cdc: { kind: 'postgres_cdc' } },
} as unknown as Pipeline;
const view = (state: SourceScheduleState | undefined, pause?: { at: number; by: string }) =>
  sourceRunView(pipeline, 'tm', state, pause, NOW, { slackMs: 5 * MIN });

describe('source run views', () => {
  it('shows a failing source with its last error, next retry and failures in a row', () => {
    const v = view({
      due: NOW - MIN,
      failures: 3,
      retryAt: NOW + MIN,
      since: NOW - 30 * MIN,
      last: { scheduledAt: NOW - MIN, finishedAt: NOW - 10_000, outcome: 'failed', error: 'GET /x: 404' },
    });
    expect(v).toMatchObject({
      status: 'failing',
      consecutive_failures: 3,
      next_run_at: new Date(NOW + MIN).toISOString(),
      last: { outcome: 'failed', error: 'GET /x: 404' },
      last_success_at: null,
      since_success_seconds: 1800,
      success_deadline_seconds: 1200,
    });
  });

  it('is overdue past its period plus slack without a whole success, and stale past the SLA plus its period without a read', () => {
    const partial = (ago: number): SourceScheduleState => ({
      due: NOW + MIN,
      failures: 0,
      lastOkAt: NOW - ago,
      last: { scheduledAt: NOW - ago, finishedAt: NOW - ago, outcome: 'partial', error: 'read 1000 of 1233' },
    });
    expect(view(partial(5 * MIN))).toMatchObject({ status: 'partial', stale: false });
    expect(view(partial(21 * MIN))).toMatchObject({ status: 'overdue', stale: false });
    expect(view(partial(26 * MIN))).toMatchObject({ status: 'overdue', stale: true });
  });

  it('a paused source is paused, never stale, and raises no alert', () => {
    const state: SourceScheduleState = { due: NOW, failures: 5, since: NOW - 99 * MIN };
    const v = view(state, { at: NOW - MIN, by: 'ops' });
    expect(v).toMatchObject({ status: 'paused', stale: false, paused: { by: 'ops' } });
    const status = (runs: unknown[]) => [{ name: 'p', source_runs: runs }] as unknown as PipelineStatus[];
    expect(sourceConditions(status([v]), 3)).toEqual([]);
    expect(sourceConditions(status([view(state)]), 3).map((c) => c.alert)).toEqual(['TributarySourceFailing', 'TributarySourceOverdue']);
  });
});

import type { PipelineStatus } from './pipeline-status';
import { ThroughputRates } from './throughput-rates';

function status(accepted: number, loaded: number): PipelineStatus {
  return {
    name: 'p',
    accepted,
    sources: { gantry: { accepted, rejected: 0 } },
    datasets: { passages: { records: loaded, filtered: 0, dead_lettered: 0 } },
    tables: { fact: { loaded, written: loaded, skipped: 0, dead_lettered: 0, newest_ingested_at: null, last_loaded_at: null } },
    dead_lettered: { ingest: 0, transform: 0, load: 0, total: 0 },
  } as unknown as PipelineStatus;
}

describe('ThroughputRates', () => {
  it('answers zeros until two samples exist', () => {
    const r = new ThroughputRates(10_000);
    r.observe(0, [status(0, 0)]);
    expect(r.rates('p')).toMatchObject({ accepted: 0, loaded: 0, sources: { gantry: 0 } });
  });

  it('divides growth by the time between the oldest kept sample and the newest', () => {
    const r = new ThroughputRates(10_000);
    r.observe(0, [status(0, 0)]);
    r.observe(2_000, [status(100, 50)]);
    expect(r.rates('p')).toMatchObject({
      accepted: 50,
      loaded: 25,
      sources: { gantry: 50 },
      datasets: { passages: 25 },
      tables: { fact: 25 },
    });
  });

  it('forgets samples older than the window (keeping one to cover it)', () => {
    const r = new ThroughputRates(10_000);
    r.observe(0, [status(0, 0)]);
    r.observe(10_000, [status(1_000, 0)]);
    r.observe(20_000, [status(1_000, 0)]);
    expect(r.rates('p').accepted).toBe(0);
  });

  it('never reports a negative rate when a count goes down', () => {
    const r = new ThroughputRates();
    r.observe(0, [status(100, 100)]);
    r.observe(1_000, [status(0, 0)]);
    expect(r.rates('p')).toMatchObject({ accepted: 0, loaded: 0 });
  });
});

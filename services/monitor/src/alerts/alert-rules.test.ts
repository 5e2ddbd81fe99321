import type { PipelineStatus } from '../status/pipeline-status';
import type { ServiceView } from '../cluster/replica-registry';
import { evaluateRules, fingerprint, type RuleInputs, type RuleThresholds } from './alert-rules';

const T: RuleThresholds = {
  lagMessages: 100,
  dlqGrowth: 10,
  errorRate: 0.05,
  windowMs: 300_000,
  slotLagSeconds: 300,
  slotLagBytes: 1_000_000,
};

function status(over: Partial<PipelineStatus> = {}): PipelineStatus {
  return {
    name: 'traffic',
    sla: { freshness_seconds: 2 },
    freshness_seconds: 0,
    source_freshness_seconds: null,
    newest_source_time: null,
    fresh: true,
    received: 0,
    accepted: 0,
    rejected: 0,
    replayed: 0,
    sources: {},
    datasets: {},
    tables: {},
    dead_lettered: { ingest: 0, transform: 0, load: 0, total: 0 },
    filtered: 0,
    lag: { transformer: { pending: 0, ack_pending: 0, redelivered: 0 }, loader: { pending: 0, ack_pending: 0, redelivered: 0 } },
    last_loaded_at: null,
    drift: [],
    ...over,
  };
}

function inputs(over: Partial<RuleInputs> = {}): RuleInputs {
  return { pipelines: [status()], deltas: new Map(), services: [], expectedServices: [], replicasKnown: true, failingChecks: [], ...over };
}

const names = (i: RuleInputs): string[] => evaluateRules(i, T).map(fingerprint);

describe('alert rules', () => {
  it('hold nothing for a healthy pipeline', () => {
    expect(names(inputs())).toEqual([]);
  });

  it('flag schema drift per dataset, field and kind while its latest event is within the window', () => {
    const d = {
      dataset: 'staff',
      source: 'hr',
      field: 'phone',
      kind: 'new',
      expected: null,
      seen: 'string',
      policy: 'evolve',
      action: 'column_added',
      column_type: 'text',
      first_seen: '2026-12-06T21:00:00.000Z',
      last_seen: '2026-12-06T21:00:01.000Z',
      count: 3,
      events: 1,
      event_age_seconds: 10,
      sample: null,
    };
    const now = evaluateRules(inputs({ pipelines: [status({ drift: [d] })] }), T);
    expect(now.map(fingerprint)).toEqual(['TributarySchemaDrift{dataset=staff,field=phone,kind=new,pipeline=traffic}']);
    expect(now[0]!.summary).toBe(
      'traffic: field "phone" is new in dataset staff from source hr: 3 record(s), column added (on_drift: evolve)',
    );
    expect(names(inputs({ pipelines: [status({ drift: [{ ...d, event_age_seconds: 301 }] })] }))).toEqual([]);
  });

  it('flag freshness beyond the SLA, not at it', () => {
    expect(names(inputs({ pipelines: [status({ freshness_seconds: 2 })] }))).toEqual([]);
    expect(names(inputs({ pipelines: [status({ freshness_seconds: 2.5 })] }))).toEqual(['TributaryFreshnessBreach{pipeline=traffic}']);
  });

  it('flag source freshness beyond the SLA too (a stopped source, ingest or loader), once', () => {
    expect(names(inputs({ pipelines: [status({ source_freshness_seconds: 2 })] }))).toEqual([]);
    const stale = evaluateRules(inputs({ pipelines: [status({ source_freshness_seconds: 7.25 })] }), T);
    expect(stale.map(fingerprint)).toEqual(['TributaryFreshnessBreach{pipeline=traffic}']);
    expect(stale[0]!.summary).toMatch(/newest source data loaded is 7.3 s old \(SLA 2 s\)/);
    const both = inputs({ pipelines: [status({ freshness_seconds: 3, source_freshness_seconds: 9 })] });
    expect(names(both)).toEqual(['TributaryFreshnessBreach{pipeline=traffic}']);
  });

  it('count pending and un-acked messages as lag, and ignore unknown lag', () => {
    const lag = {
      transformer: { pending: null, ack_pending: null, redelivered: null },
      loader: { pending: 90, ack_pending: 20, redelivered: 0 },
    };
    expect(names(inputs({ pipelines: [status({ lag })] }))).toEqual(['TributaryConsumerLag{pipeline=traffic,stage=loader}']);
  });

  it('flag dead-letter growth and the transform + load error rate over the window', () => {
    const deltas = new Map([['traffic', { accepted: 100, deadLettered: 11, failed: 6, spanMs: 300_000 }]]);
    expect(names(inputs({ deltas }))).toEqual(['TributaryDlqGrowth{pipeline=traffic}', 'TributaryErrorRate{pipeline=traffic}']);
    const quiet = new Map([['traffic', { accepted: 0, deadLettered: 3, failed: 3, spanMs: 1 }]]);
    expect(names(inputs({ deltas: quiet }))).toEqual([]);
  });

  it('flag a replication slot behind for too long or holding too much WAL, and ignore a slot that could not be read', () => {
    const slot = (lag_seconds: number | null, lag_bytes: number | null) => ({
      source: 'db',
      slot: 'trib_traffic_db',
      lag_seconds,
      lag_bytes,
      active: false,
    });
    expect(names(inputs({ pipelines: [status({ source_slots: [slot(300, 1_000_000)] })] }))).toEqual([]);
    expect(names(inputs({ pipelines: [status({ source_slots: [slot(301, 10)] })] }))).toEqual([
      'TributarySlotLag{pipeline=traffic,slot=trib_traffic_db,source=db}',
    ]);
    expect(names(inputs({ pipelines: [status({ source_slots: [slot(0, 1_000_001)] })] }))).toEqual([
      'TributarySlotLag{pipeline=traffic,slot=trib_traffic_db,source=db}',
    ]);
    expect(names(inputs({ pipelines: [status({ source_slots: [slot(null, null)] })] }))).toEqual([]);
  });

  it('flag a missing replica and an expected service without live replicas, once heartbeats are known', () => {
    const services: ServiceView[] = [
      {
        service: 'loader',
        live: 0,
        replicas: [
          {
            service: 'loader',
            instance: 'h/1/a',
            host: 'h',
            pid: 1,
            state: 'missing',
            started_at: '',
            last_seen: '',
            age_seconds: 20,
            rss_bytes: 0,
          },
        ],
      },
      { service: 'ingest-api', live: 0, replicas: [] },
    ];
    expect(names(inputs({ services, expectedServices: ['loader'] }))).toEqual([
      'TributaryReplicaMissing{instance=h/1/a,service=loader}',
      'TributaryServiceDown{service=loader}',
    ]);
    expect(names(inputs({ services, expectedServices: ['loader'], replicasKnown: false }))).toEqual([
      'TributaryReplicaMissing{instance=h/1/a,service=loader}',
    ]);
  });

  it('flag failing quality checks', () => {
    const failingChecks = [{ pipeline: 'traffic', table: 'fact_passage', check: 'unique_event_id', detail: '3 duplicates' }];
    const [c] = evaluateRules(inputs({ failingChecks }), T);
    expect(c).toMatchObject({ alert: 'TributaryQualityCheckFailed', summary: expect.stringContaining('3 duplicates') });
  });

  it('flag each table stopped by an incompatible schema change, critical, with the recorded problem', () => {
    const blockedTables = [
      { pipeline: 'sales', table: 'dim_staff', problem: 'column "email" changes type from text to integer' },
      { pipeline: 'sales', table: 'fact_sales_order', problem: '' },
    ];
    const out = evaluateRules(inputs({ blockedTables }), T);
    expect(out.map(fingerprint)).toEqual([
      'TributaryTableBlocked{pipeline=sales,table=dim_staff}',
      'TributaryTableBlocked{pipeline=sales,table=fact_sales_order}',
    ]);
    expect(out[0]).toMatchObject({ severity: 'critical', summary: expect.stringContaining('changes type from text to integer') });
    expect(names(inputs({ blockedTables: [] }))).toEqual([]);
  });

  it('flag a degraded NATS cluster, naming the server down and the streams without all replicas', () => {
    const stream = { stream: 'TRIB_RAW', replicas: 3, leader: 'n1', current: 2, lagging: 0, offline: 1, peers: [] };
    const cluster = {
      checked_at: '',
      clustered: true,
      degraded: true,
      reasons: [],
      meta_leader: 'n1',
      meta_leader_known: true,
      servers: [{ address: '127.0.0.1:4223', reachable: false, name: null, version: null, cluster: null }],
      streams: [stream, { ...stream, stream: 'TRIB_DLQ', current: 3, offline: 0 }],
    };
    const [c] = evaluateRules(inputs({ cluster }), T);
    expect(c).toMatchObject({
      alert: 'TributaryNatsClusterDegraded',
      summary: 'NATS cluster degraded: server 127.0.0.1:4223 down; replicas offline, lagging or leaderless in TRIB_RAW',
    });
    expect(names(inputs({ cluster: { ...cluster, degraded: false } }))).toEqual([]);
  });
});

/**
 * Pull sources an operator can see and stop, through the compiled ingest-api and monitor: a rest
 * source whose endpoint does not exist (404) shows its failed runs and error on the pipeline's
 * API and raises TributarySourceFailing, next to a healthy source whose last run shows its pages
 * and records; a source paused from the monitor's API (admin token) stops running while the
 * others go on, and `tributary sources resume` starts it again from where it was.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FakeApis, waitFor } from '@tributary/testkit';
import { Stack } from './stack';

jest.setTimeout(180_000);

const TOKEN = 'admin-s3cret-token-for-tests';
let fake: FakeApis;
let stack: Stack;
let dir: string;

interface SourceRun {
  source: string;
  status: string;
  paused: { by: string; reason?: string } | null;
  last: { outcome: string; pages: number | null; records: number | null; error: string | null } | null;
  next_run_at: string | null;
  consecutive_failures: number;
}

beforeAll(async () => {
  fake = await new FakeApis({ genericItems: 25, missing: ['/data/3.0/onecall'] }).start();
  dir = mkdtempSync(path.join(tmpdir(), 'source-runs-'));
  writeFileSync(
    path.join(dir, 'runs.yaml'),
    `
pipeline: runs
sla: { freshness: 10m }
connections:
  api: { kind: http, base_url: "http://127.0.0.1:1", base_url_env: RUNS_API_URL, auth: { type: bearer, secret: env:RUNS_TOKEN } }
sources:
  good:
    kind: rest
    connection: api
    schedule: { every: 2s }
    request: { path: /generic/offset }
    records: items
    pagination: { type: offset, size: 10, total: total }
  other:
    kind: rest
    connection: api
    schedule: { every: 2s }
    request: { path: /generic/cursor }
    records: data
    pagination: { type: cursor, param: cursor, path: next_cursor }
  missing:
    kind: rest
    connection: api
    schedule: { every: 2s }
    request: { path: /data/3.0/onecall, query: { lat: 1, lon: 2 } }
    retry: { attempts: 1 }
datasets:
  out: { from: [good, other, missing], fields: { id: string } }
`,
  );
  stack = await Stack.start({
    pipelines: path.join(dir, 'runs.yaml'),
    services: ['ingest-api', 'monitor'],
    env: {
      RUNS_API_URL: fake.url,
      RUNS_TOKEN: 't',
      INGEST_LEASE_TTL_MS: '1500',
      MONITOR_ADMIN_TOKEN: TOKEN,
      MONITOR_SERVICES: 'ingest-api',
      MONITOR_ALERT_INTERVAL: '500ms',
      MONITOR_ALERT_FOR: '0s',
      MONITOR_ALERT_SOURCE_FAILURES: '2',
    },
  });
});
afterAll(async () => {
  await stack?.stopAll();
  await fake?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const monitor = (p: string, init?: RequestInit) => fetch(`${stack.url('monitor')}${p}`, init);
const runs = async (): Promise<Record<string, SourceRun>> => {
  const body = (await (await monitor('/api/pipelines/runs/sources')).json()) as { sources: SourceRun[] };
  return Object.fromEntries(body.sources.map((s) => [s.source, s]));
};
/** Runs of the other healthy source so far: proof that the scheduler went on while one source was paused. */
const otherRuns = (): number => fake.requestsTo('/generic/cursor').filter((r) => r.query.cursor === undefined).length;

describe('pull source runs in the monitor', () => {
  it("shows each source's last run (outcome, pages, records, error, next run) and alerts on the one that keeps failing", async () => {
    const seen = await waitFor(
      async () => {
        const r = await runs();
        return r.missing?.consecutive_failures && r.missing.consecutive_failures >= 2 && r.good?.last ? r : undefined;
      },
      { timeoutMs: 60_000, what: 'two failed runs of the missing source and a run of the good one' },
    );
    expect(seen.missing).toMatchObject({ status: 'failing', last: { outcome: 'failed', error: expect.stringContaining('404') } });
    expect(seen.missing!.next_run_at).not.toBeNull();
    expect(seen.good).toMatchObject({ status: 'ok', last: { outcome: 'ok', pages: 3, records: 25, error: null } });
    // The pipeline's own status carries them too.
    const status = (await (await monitor('/api/pipelines/runs')).json()) as { pipeline: { source_runs: SourceRun[] } };
    expect(status.pipeline.source_runs.map((s) => s.source).sort()).toEqual(['good', 'missing', 'other']);
    const alert = await waitFor(
      async () => {
        const a = (await (await monitor('/api/alerts')).json()) as {
          active: { alert: string; labels: Record<string, string>; summary: string; state: string }[];
        };
        return a.active.find((x) => x.alert === 'TributarySourceFailing' && x.state === 'firing');
      },
      { timeoutMs: 30_000, what: 'TributarySourceFailing firing' },
    );
    expect(alert.labels).toEqual({ pipeline: 'runs', source: 'missing' });
    expect(alert.summary).toContain('404');
    const metrics = await (await monitor('/metrics')).text();
    expect(metrics).toMatch(/^tributary_source_consecutive_failures\{pipeline="runs",source="missing"[^}]*\} [2-9]/m);
  });

  it('pauses a source from the API without editing the spec (admin token required), and resumes it from the CLI', async () => {
    const refused = await monitor('/api/pipelines/runs/sources/good/pause', { method: 'POST' });
    expect(refused.status).toBe(401);
    const paused = await monitor('/api/pipelines/runs/sources/good/pause', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-tributary-actor': 'ops' },
      body: JSON.stringify({ reason: 'maintenance' }),
    });
    expect(paused.status).toBe(200);
    expect(((await paused.json()) as { source: SourceRun }).source).toMatchObject({
      status: 'paused',
      paused: { by: 'ops', reason: 'maintenance' },
    });

    // Let a run that was already under way end: the other source runs once more meanwhile.
    let mark = otherRuns();
    await waitFor(async () => otherRuns() > mark, { timeoutMs: 20_000, what: 'another run of the other source' });
    const before = fake.requestsTo('/generic/offset').length;
    mark = otherRuns();
    await waitFor(async () => otherRuns() >= mark + 2, { timeoutMs: 30_000, what: 'two more runs of the other source' });
    expect(fake.requestsTo('/generic/offset').length).toBe(before);
    expect((await runs()).good?.status).toBe('paused');

    const { stdout } = await stack.cli(['sources', 'resume', 'runs', 'good']);
    expect(stdout).toContain('resumed runs/good');
    await waitFor(async () => fake.requestsTo('/generic/offset').length > before, {
      timeoutMs: 20_000,
      what: 'the good source running again',
    });
    expect((await runs()).good?.paused).toBeNull();
  });
});

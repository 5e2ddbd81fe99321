/**
 * Traces and lineage from a real run: every service exports spans over OTLP/HTTP to a receiver
 * in this test, and one trace follows a batch from the HTTP request through the ingest producer,
 * the transformer's consumer and producer spans to the loader's commit; the monitor sends
 * OpenLineage START/COMPLETE events for the load (carrying that trace ID) and START/FAIL for a
 * message the loader had to dead-letter, each valid against the RunEvent model written from the
 * spec. The metrics catalogue and the Grafana dashboard are checked against the live /metrics.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { H, makeHeaders } from '@tributary/contract/wire';
import { NDJSON } from '@tributary/contract/codec';
import { ensureTestTool, waitFor } from '@tributary/testkit';
import { runEvent } from '../../services/monitor/src/lineage/openlineage-model';
import { HttpReceiver } from './alert-receivers';
import { ndjson } from './passages';
import type { Stack } from './stack';
import { startStack } from './start-stack';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../..');
const PROMTOOL = '/usr/bin/promtool';
const run = promisify(execFile);

/** A span as OTLP/JSON encodes it, with the service that sent it. */
interface Span {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

const KIND = { server: 2, producer: 4, consumer: 5 };

/** Flattens OTLP/JSON export requests into spans. */
function spansOf(otlp: HttpReceiver): Span[] {
  return otlp.received
    .filter((r) => r.path === '/v1/traces')
    .flatMap((r) =>
      (r.body.resourceSpans ?? []).flatMap((rs: any) => {
        const service = rs.resource?.attributes?.find((a: any) => a.key === 'service.name')?.value?.stringValue;
        return (rs.scopeSpans ?? []).flatMap((ss: any) =>
          (ss.spans ?? []).map((s: any): Span => ({
            service,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId || undefined,
            name: s.name,
            kind: s.kind,
            attributes: Object.fromEntries((s.attributes ?? []).map((a: any) => [a.key, Object.values(a.value ?? {})[0]])),
          })),
        );
      }),
    );
}

/** Metric names a Prometheus text exposition declares (`# TYPE name kind`). */
function exposed(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
}

describe('traces, lineage and metrics from a real run', () => {
  let stack: Stack;
  let otlp: HttpReceiver;
  let lineage: HttpReceiver;

  // Installs promtool (Debian's prometheus) on a machine that lacks it; minutes on a fresh one.
  beforeAll(() => ensureTestTool(PROMTOOL), 600_000);

  beforeAll(async () => {
    [otlp, lineage] = await Promise.all([HttpReceiver.start(), HttpReceiver.start()]);
    stack = await startStack({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        // Export within a fraction of a second rather than the default five.
        OTEL_BSP_SCHEDULE_DELAY: '200',
        MONITOR_OPENLINEAGE_URL: lineage.url,
        MONITOR_OPENLINEAGE_NAMESPACE: 'tributary-e2e',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stopAll();
    await Promise.all([otlp?.close(), lineage?.close()]);
  });

  let traceId: string;

  it('follows one batch in one trace from the HTTP request through transformer and loader, linked through NATS headers', async () => {
    const r = await stack.push('gantry', ndjson(1000, 20), { 'idempotency-key': 'trace-1' });
    expect(r.status).toBe(202);

    const chain = await waitFor(
      async () => {
        const spans = spansOf(otlp);
        const server = spans.find((s) => s.service === 'ingest-api' && s.kind === KIND.server && s.name.startsWith('POST /v1/pipelines'));
        if (!server) return undefined;
        const trace = spans.filter((s) => s.traceId === server.traceId);
        const child = (parent: Span | undefined, service: string, kind: number, name: string): Span | undefined =>
          parent && trace.find((s) => s.service === service && s.kind === kind && s.parentSpanId === parent.spanId && s.name === name);
        const rawPublish = child(server, 'ingest-api', KIND.producer, 'publish trib.raw.traffic.gantry');
        const transform = child(rawPublish, 'transformer', KIND.consumer, 'process trib.raw.traffic.gantry');
        const processedPublish = child(transform, 'transformer', KIND.producer, 'publish trib.processed.traffic.passages');
        const load = child(processedPublish, 'loader', KIND.consumer, 'load traffic');
        return load ? { server, rawPublish: rawPublish!, transform: transform!, processedPublish: processedPublish!, load } : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the span chain ingest -> transformer -> loader in one trace' },
    );
    traceId = chain.server.traceId;
    for (const s of [chain.rawPublish, chain.transform, chain.processedPublish, chain.load]) {
      expect(s.traceId).toBe(traceId);
      expect(s.attributes['messaging.system']).toBe('nats');
    }
    expect(chain.rawPublish.attributes['messaging.destination.name']).toBe('trib.raw.traffic.gantry');
    expect(chain.load.attributes['db.system.name']).toBe('postgresql');
  });

  it('sends OpenLineage START and COMPLETE for the load, with the trace ID and the stream sequence range', async () => {
    const events = await waitFor(
      async () => {
        const got = lineage.received.filter((r) => r.path === '/api/v1/lineage').map((r) => r.body);
        const complete = got.find((e) => e.eventType === 'COMPLETE' && e.run.facets?.tributary?.traceId === traceId);
        const start = complete && got.find((e) => e.eventType === 'START' && e.run.runId === complete.run.runId);
        return start && complete ? { start, complete } : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'START and COMPLETE lineage events of the load' },
    );
    for (const e of [events.start, events.complete]) runEvent.parse(e);
    expect(events.complete.job).toEqual({ namespace: 'tributary-e2e', name: 'traffic.load.fact_passage' });
    expect(events.complete.inputs[0].name).toBe('trib.processed.traffic.passages');
    expect(events.complete.inputs[0].namespace).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(events.complete.outputs[0]).toMatchObject({ name: 'tributary.warehouse.fact_passage' });
    expect(events.complete.outputs[0].namespace).toMatch(/^postgres:\/\/127\.0\.0\.1:\d+$/);
    const facet = events.complete.run.facets.tributary;
    expect(facet.streamSeqRange.first).toBeLessThanOrEqual(facet.streamSeqRange.last);
    expect(events.complete.outputs[0].outputFacets.outputStatistics.rowCount).toBe(facet.records);
    expect(Date.parse(events.start.eventTime)).toBeLessThanOrEqual(Date.parse(events.complete.eventTime));
  });

  it('sends OpenLineage START and FAIL when the loader dead-letters a whole message', async () => {
    const nc = await connect({ servers: stack.nats.url });
    try {
      // A corrupt message on the loader's input: not NDJSON, so the loader cannot load it at all.
      await jetstream(nc).publish('trib.processed.traffic.passages', new TextEncoder().encode('{"event_id": "x", oops\n'), {
        msgID: 'corrupt-1:passages',
        headers: makeHeaders({
          [H.pipeline]: 'traffic',
          [H.dataset]: 'passages',
          [H.count]: 1,
          [H.ingestedAt]: Date.now(),
          [H.contentType]: NDJSON,
        }),
      });
    } finally {
      await nc.close();
    }
    const fail = await waitFor(
      async () => lineage.received.map((r) => r.body).find((e) => e.eventType === 'FAIL' && e.job.name === 'traffic.load.fact_passage'),
      { timeoutMs: 30_000, intervalMs: 250, what: 'a FAIL lineage event' },
    );
    runEvent.parse(fail);
    expect(fail.run.facets.errorMessage.message).toMatch(/^TRIB_E_DECODE/);
    const start = lineage.received.map((r) => r.body).find((e) => e.eventType === 'START' && e.run.runId === fail.run.runId);
    expect(start).toBeDefined();
  });

  it('documents every tributary_* metric the services expose, and the Grafana dashboard queries only those', async () => {
    const live = new Set<string>();
    for (const s of ['ingest-api', 'transformer', 'loader', 'monitor'] as const) {
      const text = await (await fetch(`${stack.url(s)}/metrics`)).text();
      for (const n of exposed(text)) if (n.startsWith('tributary_')) live.add(n);
    }
    const doc = readFileSync(path.join(ROOT, 'docs/METRICS.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(tributary_[a-z0-9_]+)`\s*\|(.*)$/gm)];
    const documented = new Set(rows.map((m) => m[1]!));
    expect([...live].filter((n) => !documented.has(n)).sort()).toEqual([]);
    // A documented metric this stack does not show must say when it exists ("only when ...").
    expect(rows.filter((m) => !live.has(m[1]!) && !m[2]!.includes('only when')).map((m) => m[1])).toEqual([]);

    const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'deploy/grafana/tributary.json'), 'utf8'));
    const exprs: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if ((k === 'expr' || k === 'query') && typeof x === 'string') exprs.push(x);
          else walk(x);
        }
      }
    };
    walk(dashboard);
    expect(exprs.length).toBeGreaterThan(10);
    for (const e of exprs) {
      const names = [...e.matchAll(/\b(tributary_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''));
      expect({ expr: e, unknown: names.filter((n) => !live.has(n)) }).toEqual({ expr: e, unknown: [] });
    }

    // And every panel query is valid PromQL: promtool parses them as recording rules, with
    // Grafana's variables replaced by what Grafana would put there.
    const promql = exprs
      .filter((e) => !e.startsWith('label_values(') && e !== 'prometheus')
      .map((e) => e.replaceAll('$__rate_interval', '1m').replaceAll('$pipeline', '.*'));
    const rulesFile = path.join(mkdtempSync(path.join(tmpdir(), 'trib-grafana-')), 'queries.yml');
    writeFileSync(
      rulesFile,
      JSON.stringify({ groups: [{ name: 'grafana', rules: promql.map((expr, i) => ({ record: `grafana_query_${i}`, expr })) }] }),
    );
    const check = await run(PROMTOOL, ['check', 'rules', rulesFile]).catch((err: { stdout: string; stderr: string }) => {
      throw new Error(`a Grafana query is not valid PromQL:\n${err.stdout}\n${err.stderr}`);
    });
    expect(check.stdout).toContain(`SUCCESS: ${promql.length} rules found`);
  });
});

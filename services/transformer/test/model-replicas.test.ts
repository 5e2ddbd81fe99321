/**
 * The `model` step with real NATS: two transformer replicas sharing the pipeline's consumer score
 * every record exactly as one runner scoring each input message alone does (the batches each
 * replica happened to take do not matter), every processed message carries the model's identity in
 * `Trib-Model`, and a redelivered input (a fresh runner, as after a crash) gives the same bytes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AckPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createLogger } from '@tributary/runtime/logger';
import { DEFAULT_TOPOLOGY, ensureConsumers, ensureStreams, pipelineConsumers } from '@tributary/runtime/nats';
import { decodeNdjson, NDJSON, type Rec } from '@tributary/contract/codec';
import { H, makeHeaders, STREAMS, subjects } from '@tributary/contract/wire';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { modelIdentity } from '@tributary/contract/schema';
import { NatsServer, stopAll, waitFor } from '@tributary/testkit';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { PipelineRunner } from '../src/pipeline-runner';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../../..');
const silent = createLogger('test', 'silent');
const FIELDS = ['amount', 'amount_ratio', 'tx_10m', 'amount_10m', 'tx_24h_before', 'km_from_prev', 'kmh_from_prev', 'hour_of_day'];
const MESSAGES = 24;
const PER_MESSAGE = 250;

let nats: NatsServer;
let nc: NatsConnection;
let dir: string;
let pipeline: Pipeline;

beforeAll(async () => {
  nats = await NatsServer.start();
  nc = await connect({ servers: nats.url });
  dir = mkdtempSync(path.join(tmpdir(), 'tributary-model-replicas-'));
  writeFileSync(
    path.join(dir, 'scoring.yaml'),
    `pipeline: scoring
sources:
  payments: { kind: push }
datasets:
  scored:
    from: [payments]
    fields: { id: string, fraud_probability: number, fraud_model: string }
    steps:
      - model:
          file: ${path.join(ROOT, 'pipelines/models/fraud.onnx')}
          inputs: { features: [${FIELDS.join(', ')}] }
          outputs: { fraud_probability: probability }
          on_missing: impute
          impute: { ${FIELDS.map((f) => `${f}: 0`).join(', ')} }
          model_field: fraud_model
`,
  );
  pipeline = loadPipelineFile(path.join(dir, 'scoring.yaml'));
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, DEFAULT_TOPOLOGY);
  await ensureConsumers(jsm, pipelineConsumers(pipeline), DEFAULT_TOPOLOGY);
});

afterAll(async () => {
  await nc?.close();
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Input message `m`: payments with varied features (some missing, imputed). */
function payments(m: number): Rec[] {
  let s = m + 1;
  const rnd = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  return Array.from({ length: PER_MESSAGE }, (_, i) => ({
    id: `m${m}-${i}`,
    ...Object.fromEntries(FIELDS.map((f) => [f, rnd() < 0.05 ? null : Math.round(rnd() * 3000) / 10])),
  }));
}

/** Every message on the dataset's processed subject. */
async function processed(): Promise<JsMsg[]> {
  const jsm = await jetstreamManager(nc);
  const c = await jsm.consumers.add(STREAMS.processed, {
    filter_subject: subjects.processed('scoring', 'scored'),
    ack_policy: AckPolicy.None,
    inactive_threshold: 10_000_000_000,
  });
  const out: JsMsg[] = [];
  const consumer = await jetstream(nc).consumers.get(STREAMS.processed, c.name);
  for await (const m of await consumer.fetch({ max_messages: c.num_pending, expires: 5_000 })) {
    out.push(m);
    if (out.length === c.num_pending) break;
  }
  await jsm.consumers.delete(STREAMS.processed, c.name);
  return out;
}

it('two replicas score every record as one runner scoring each input alone, each message naming the model; a redelivered input gives the same bytes', async () => {
  const env = { NATS_URL: nats.url, LOG_LEVEL: 'silent', HOST: '127.0.0.1', TRANSFORMER_PORT: '0', TRANSFORMER_BATCH_MESSAGES: '3' };
  const replicas = [0, 1].map(() => createApp(loadConfig(env), { pipelines: [pipeline], logger: silent }));
  await Promise.all(replicas.map((r) => r.start()));
  const js = jetstream(nc);
  try {
    for (let m = 0; m < MESSAGES; m++) {
      await js.publish(
        subjects.raw('scoring', 'payments'),
        Buffer.from(
          payments(m)
            .map((r) => JSON.stringify(r))
            .join('\n'),
        ),
        {
          msgID: `payments:${m}`,
          headers: makeHeaders({ [H.pipeline]: 'scoring', [H.source]: 'payments', [H.count]: PER_MESSAGE, [H.contentType]: NDJSON }),
        },
      );
    }
    const msgs = await waitFor(
      async () => {
        const got = await processed();
        return got.length === MESSAGES ? got : undefined;
      },
      { timeoutMs: 60_000, what: `${MESSAGES} processed messages` },
    );
    const identity = `fraud@1 sha256:${pipeline.models![path.join(ROOT, 'pipelines/models/fraud.onnx')]!.sha256}`;
    expect(identity).toBe(modelIdentity(pipeline.models![path.join(ROOT, 'pipelines/models/fraud.onnx')]!));
    expect(new Set(msgs.map((m) => m.headers?.get(H.model)))).toEqual(new Set([identity]));
    // The reference: a runner of its own scoring each input message alone.
    const reference = new PipelineRunner(pipeline, 'k');
    await reference.open({});
    for (const msg of msgs) {
      const m = Number(/^payments:(\d+):scored$/.exec(msg.headers!.get('Nats-Msg-Id'))![1]);
      const [expected] = await reference.run('payments', payments(m), `payments:${m}`);
      expect(decodeNdjson(msg.data)).toEqual(expected!.records);
      // A redelivery, as after a crash: a fresh runner, the same input, the same bytes.
      const fresh = new PipelineRunner(pipeline, 'k');
      await fresh.open({});
      const [again] = await fresh.run('payments', payments(m), `payments:${m}`);
      expect(Buffer.from(again!.records.map((r) => JSON.stringify(r)).join('\n'))).toEqual(Buffer.from(msg.data));
      await fresh.close();
    }
    await reference.close();
    // Both replicas scored some of it (they share one consumer; three messages per fetch).
    const perReplica = await Promise.all(
      replicas.map(async (r) =>
        (await r.metrics.records.get()).values.filter((v) => v.labels.outcome === 'processed').reduce((n, v) => n + v.value, 0),
      ),
    );
    expect(perReplica.every((n) => n > 0)).toBe(true);
    expect(perReplica[0]! + perReplica[1]!).toBe(MESSAGES * PER_MESSAGE);
    const scores = msgs.flatMap((m) => decodeNdjson(m.data).map((r) => r.fraud_probability as number));
    expect(scores).toHaveLength(MESSAGES * PER_MESSAGE);
    expect(new Set(scores).size).toBeGreaterThan(MESSAGES * PER_MESSAGE * 0.5);
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
  }
});

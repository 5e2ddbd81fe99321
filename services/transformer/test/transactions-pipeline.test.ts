/**
 * `pipelines/transactions.yaml` end to end against real NATS and PostgreSQL: the sample payments
 * (one case of each fraud rule, and one record the Avro contract refuses) go through the
 * transformer and the loader; every payment lands in fact_transaction scored by the fraud model
 * (its identity in the fraud_model column and the Trib-Model header), exactly the flagged ones in
 * fact_fraud_alert with the rules that fired, each raised once as an event on
 * trib.events.transactions.fraud, and the refused one is dead-lettered with its reason.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AckPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createLogger } from '@tributary/runtime/logger';
import { DEFAULT_TOPOLOGY } from '@tributary/runtime/nats';
import { decodeNdjson, NDJSON, type Rec } from '@tributary/contract/codec';
import { H, makeHeaders, STREAMS, subjects } from '@tributary/contract/wire';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { migrate } from '@tributary/cli';
import { NatsServer, PostgresServer, stopAll, waitFor } from '@tributary/testkit';
import { Pool } from 'pg';
import { createApp as createLoader } from '../../loader/src/app';
import { loadConfig as loaderConfig } from '../../loader/src/config';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../../..');
const silent = createLogger('test', 'silent');

let nats: NatsServer;
let pg: PostgresServer;
let pool: Pool;
let nc: NatsConnection;
let pipeline: Pipeline;
let env: Record<string, string>;

beforeAll(async () => {
  [nats, pg] = await Promise.all([NatsServer.start(), PostgresServer.start()]);
  const databaseUrl = await pg.createDatabase('tributary');
  pipeline = loadPipelineFile(path.join(ROOT, 'pipelines/transactions.yaml'));
  await migrate({ natsUrl: nats.url, databaseUrl, pipelines: [pipeline], topology: DEFAULT_TOPOLOGY, logger: silent });
  pool = new Pool({ connectionString: databaseUrl, max: 2 });
  // An idle connection dropped at teardown must not fail the suite as an unhandled 'error'.
  pool.on('error', () => undefined);
  pool.on('error', () => undefined);
  nc = await connect({ servers: nats.url });
  env = { NATS_URL: nats.url, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', HOST: '127.0.0.1', TRANSFORMER_PORT: '0', LOADER_PORT: '0' };
});

afterAll(async () => {
  await nc?.close();
  await pool?.end();
  await stopAll();
});

it('flags the sample payments that break a rule into fact_fraud_alert and raises one alert event each', async () => {
  const sample = decodeNdjson(readFileSync(path.join(ROOT, 'pipelines/samples/transactions.ndjson')));
  const js = jetstream(nc);
  // Three messages, as the processor's pushes would arrive.
  for (const [i, part] of [sample.slice(0, 5), sample.slice(5, 11), sample.slice(11)].entries()) {
    await js.publish(subjects.raw('transactions', 'payments'), Buffer.from(part.map((r) => JSON.stringify(r)).join('\n')), {
      msgID: `payments:sample-${i}`,
      headers: makeHeaders({
        [H.pipeline]: 'transactions',
        [H.source]: 'payments',
        [H.count]: part.length,
        [H.contentType]: NDJSON,
        [H.ingestedAt]: Date.now(),
      }),
    });
  }
  const transformer = createApp(loadConfig(env), { pipelines: [pipeline], logger: silent });
  const loader = createLoader(loaderConfig(env), { pipelines: [pipeline], logger: silent });
  await Promise.all([transformer.start(), loader.start()]);
  try {
    await waitFor(
      async () => {
        const n = await pool.query(`SELECT count(*)::int AS n FROM tributary.load_ledger WHERE table_name = 'fact_fraud_alert'`);
        return n.rows[0].n === 3 ? true : undefined;
      },
      { timeoutMs: 90_000, what: 'the three messages loaded into fact_fraud_alert' },
    );
    const tx = await pool.query('SELECT tx_id FROM warehouse.fact_transaction ORDER BY tx_id');
    expect(tx.rows.map((r) => r.tx_id)).toEqual(sample.slice(0, 15).map((r) => r.tx_id));
    // The model scored every payment, and says which model it was.
    const model = pipeline.models!['models/fraud.onnx']!;
    const scored = await pool.query(
      'SELECT DISTINCT fraud_model, min(fraud_probability) AS lo, max(fraud_probability) AS hi FROM warehouse.fact_transaction GROUP BY 1',
    );
    expect(scored.rows).toEqual([{ fraud_model: `fraud@1 sha256:${model.sha256}`, lo: expect.any(Number), hi: expect.any(Number) }]);
    expect(scored.rows[0].lo).toBeGreaterThanOrEqual(0);
    expect(scored.rows[0].hi).toBeLessThanOrEqual(1);
    const processed = await readMessages(STREAMS.processed, subjects.processed('transactions', 'transactions'));
    expect(new Set(processed.map((m) => m.headers?.get(H.model)))).toEqual(new Set([`fraud@1 sha256:${model.sha256}`]));
    // The loader's notices (what lineage run events are made of) name the model too.
    const notices = await read(STREAMS.loaded, subjects.loaded('transactions', 'fact_transaction'));
    expect(notices.length).toBeGreaterThan(0);
    expect(notices.flatMap((n) => n.models as string[])).toEqual(notices.map(() => `fraud@1 sha256:${model.sha256}`));
    // Flagged by a rule, or by the model alone (s003: a card's third payment within a minute).
    const alerts = await pool.query('SELECT tx_id, fraud_rules, card_id FROM warehouse.fact_fraud_alert ORDER BY tx_id');
    expect(alerts.rows).toEqual([
      { tx_id: 's003', fraud_rules: '', card_id: 'C000001' },
      { tx_id: 's005', fraud_rules: 'velocity', card_id: 'C000001' },
      { tx_id: 's006', fraud_rules: 'velocity', card_id: 'C000001' },
      { tx_id: 's011', fraud_rules: 'amount_spike', card_id: 'C000002' },
      { tx_id: 's013', fraud_rules: 'impossible_travel', card_id: 'C000003' },
    ]);
    const events = await read(STREAMS.events, subjects.events('transactions', 'fraud'));
    expect(events.map((e) => e.tx_id).sort()).toEqual(['s003', 's005', 's006', 's011', 's013']);
    const dead = await read(STREAMS.dlq, 'trib.dlq.transactions.transform.transactions');
    expect(dead.map((d) => (d.error as Rec).message)).toEqual([
      'schemas/transaction.avsc: field "amount": "free" is not a valid Avro double',
    ]);
  } finally {
    await Promise.all([transformer.stop(), loader.stop()]);
  }
});

/** Every JSON message body on `subject` of `stream`. */
async function read(stream: string, subject: string): Promise<Rec[]> {
  return (await readMessages(stream, subject)).map((m) => m.json<Rec>());
}

/** Every message on `subject` of `stream`. */
async function readMessages(stream: string, subject: string): Promise<JsMsg[]> {
  const jsm = await jetstreamManager(nc);
  const c = await jsm.consumers.add(stream, { filter_subject: subject, ack_policy: AckPolicy.None, inactive_threshold: 10_000_000_000 });
  const out: JsMsg[] = [];
  if (c.num_pending > 0) {
    const consumer = await jetstream(nc).consumers.get(stream, c.name);
    for await (const m of await consumer.fetch({ max_messages: c.num_pending, expires: 5_000 })) {
      out.push(m);
      if (out.length === c.num_pending) break;
    }
  }
  await jsm.consumers.delete(stream, c.name);
  return out;
}

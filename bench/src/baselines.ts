/**
 * The limits and the naive design, measured in the same run as Tributary on the same machine:
 * raw COPY of the same rows into the same table, raw JetStream publish+consume of the same
 * batches with the same client, and one message + one INSERT per record.
 */
import { Readable } from 'node:stream';
import { pipeline as pump } from 'node:stream/promises';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats, Publisher } from '@tributary/runtime/nats';
import { H, makeHeaders } from '@tributary/contract/wire';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { passage } from './records';

/** Result of one scenario. */
export interface Measured {
  records: number;
  seconds: number;
  perSecond: number;
}

const esc = (v: unknown): string =>
  v === null || v === undefined ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');

/** One line of COPY text format. */
export const copyLine = (values: unknown[]): string => values.map(esc).join('\t') + '\n';

/** The fact table's columns a COPY of passages fills, in the order of `copyLine`'s values. */
export const PASSAGE_COPY_COLUMNS = '(event_id, gantry_id, plate, speed_kmh, lane, passengers, observed_at, _msg_id, _ingested_at)';

/** COPY `n` passages (projected like the pipeline does) into a copy of the fact table, 5000 rows per COPY. */
export async function rawCopy(databaseUrl: string, n: number): Promise<Measured> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  await c.query('DROP TABLE IF EXISTS warehouse.bench_copy');
  await c.query('CREATE TABLE warehouse.bench_copy (LIKE warehouse.fact_passage INCLUDING ALL)');
  const t0 = performance.now();
  for (let s = 0; s < n; s += 5000) {
    const lines: string[] = [];
    for (let i = s; i < Math.min(n, s + 5000); i++) {
      const r = passage(i, 'copy');
      lines.push(
        copyLine([
          r.event_id,
          r.gantry_id,
          r.plate,
          Math.round((r.speed_mph as number) * 16.09344) / 10,
          r.lane,
          r.passengers,
          r.observed_at,
          `copy:${s}`,
          new Date().toISOString(),
        ]),
      );
    }
    await pump(Readable.from([lines.join('')]), c.query(copyFrom(`COPY warehouse.bench_copy ${PASSAGE_COPY_COLUMNS} FROM STDIN`)));
  }
  const seconds = (performance.now() - t0) / 1000;
  await c.query('DROP TABLE warehouse.bench_copy');
  await c.end();
  return { records: n, seconds, perSecond: n / seconds };
}

/** Publishes `n` passages as NDJSON batches of 1000 (bounded in flight) and consumes + acks them. */
export async function rawJetStream(natsUrl: string, n: number): Promise<Measured> {
  const nc = await connectNats(natsUrl, 'bench-raw');
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH_RAW', subjects: ['bench.raw'] });
  await jsm.consumers.add('BENCH_RAW', { durable_name: 'c', ack_policy: AckPolicy.Explicit, max_ack_pending: 256 });
  const js = jetstream(nc);
  const bodies: Uint8Array[] = [];
  for (let s = 0; s < n; s += 1000) {
    const lines: string[] = [];
    for (let i = s; i < Math.min(n, s + 1000); i++) lines.push(JSON.stringify(passage(i, 'raw')));
    bodies.push(Buffer.from(lines.join('\n')));
  }
  const t0 = performance.now();
  const consumer = await js.consumers.get('BENCH_RAW', 'c');
  const messages = await consumer.consume({ max_messages: 64 });
  const consumed = (async () => {
    let got = 0;
    for await (const m of messages) {
      // Decode like a stage must, so the baseline does the same parsing work.
      got += Buffer.from(m.data)
        .toString('utf8')
        .split('\n')
        .map((l) => JSON.parse(l)).length;
      m.ack();
      if (got >= n) break;
    }
  })();
  const pub = new Publisher(js, 256);
  await Promise.all(bodies.map((b, i) => pub.publish('bench.raw', b, { msgId: `raw-${i}`, headers: makeHeaders({ [H.count]: 1000 }) })));
  await consumed;
  const seconds = (performance.now() - t0) / 1000;
  await jsm.streams.delete('BENCH_RAW');
  await nc.close();
  return { records: n, seconds, perSecond: n / seconds };
}

/** The tutorial design: one message per record (each publish awaited), one INSERT per record. */
export async function naive(natsUrl: string, databaseUrl: string, n: number): Promise<Measured> {
  const nc = await connectNats(natsUrl, 'bench-naive');
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH_NAIVE', subjects: ['bench.naive'] });
  await jsm.consumers.add('BENCH_NAIVE', { durable_name: 'c', ack_policy: AckPolicy.Explicit });
  const js = jetstream(nc);
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query('DROP TABLE IF EXISTS warehouse.bench_naive');
  await db.query('CREATE TABLE warehouse.bench_naive (LIKE warehouse.fact_passage INCLUDING ALL)');
  const t0 = performance.now();
  const consumer = await js.consumers.get('BENCH_NAIVE', 'c');
  const messages = await consumer.consume({ max_messages: 100 });
  const consumed = (async () => {
    let got = 0;
    for await (const m of messages) {
      const r = JSON.parse(Buffer.from(m.data).toString('utf8'));
      await db.query(
        'INSERT INTO warehouse.bench_naive (event_id, gantry_id, plate, speed_kmh, lane, passengers, observed_at, _msg_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)',
        [r.event_id, r.gantry_id, r.plate, r.speed_mph * 1.609344, r.lane, r.passengers, r.observed_at, String(m.seq)],
      );
      m.ack();
      if (++got >= n) break;
    }
  })();
  for (let i = 0; i < n; i++) await js.publish('bench.naive', JSON.stringify(passage(i, 'naive')));
  await consumed;
  const seconds = (performance.now() - t0) / 1000;
  await db.query('DROP TABLE warehouse.bench_naive');
  await db.end();
  await jsm.streams.delete('BENCH_NAIVE');
  await nc.close();
  return { records: n, seconds, perSecond: n / seconds };
}

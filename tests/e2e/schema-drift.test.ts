/**
 * Schema drift through the real stack (docs/transforms.md, "Schema drift"): one push source feeds
 * four datasets, one per `on_drift` policy, with a record that fits, one with an added field, one
 * without its required key and one with a retyped value. Shows what lands in the warehouse, what
 * is dead-lettered (each field named), what is counted, and the drift events on
 * `trib.events.<pipeline>.drift` (one per dataset, field and kind, not one per record). Then
 * `evolve` on a `postgres_cdc` source: `ALTER TABLE ... ADD COLUMN` at the source, and the column
 * appears in the warehouse table with the new values, and the monitor shows the drift on
 * /api/pipelines/<name> and fires TributarySchemaDrift.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { PostgresServer, waitFor } from '@tributary/testkit';
import { Client } from 'pg';
import { Stack } from './stack';

jest.setTimeout(240_000);

const dataset = (name: string, policy: string) => `
  ${name}:
    from: orders
    on_drift: ${policy}
    fields:
      id: { type: integer, required: true }
      qty: integer
      note: string`;

const SHOP = `
pipeline: shop
sources:
  orders: { kind: push }
datasets:${dataset('frozen', 'freeze')}${dataset('trimmed', 'discard_value')}${dataset('strict', 'discard_row')}${dataset('grown', 'evolve')}
tables:
  frozen: { from: frozen, mode: upsert, key: [id] }
  trimmed: { from: trimmed, mode: upsert, key: [id] }
  strict: { from: strict, mode: upsert, key: [id] }
  grown: { from: grown, mode: upsert, key: [id] }
`;

const STAFF = `
pipeline: hr
connections:
  hr_db: { kind: postgres, url: env:HR_DB_URL }
sources:
  hr:
    kind: postgres_cdc
    connection: hr_db
    tables: [staff]
    flush_interval: 50ms
    heartbeat: 500ms
datasets:
  staff:
    from: hr
    on_drift: evolve
    fields:
      staff_id: { type: integer, required: true }
      name: string
tables:
  staff: { from: staff, mode: upsert, key: [staff_id] }
`;

const RECORDS = [
  { id: 1, qty: 2, note: 'fits' },
  { id: 2, qty: 3, note: 'added', colour: 'red' },
  { qty: 4, note: 'no key' },
  { id: 4, qty: 'four', note: 'retyped' },
];
const ndjson = (recs: object[]) => recs.map((r) => JSON.stringify(r)).join('\n');

let source: PostgresServer;
let hr: Client;
let stack: Stack;
let nc: NatsConnection;

beforeAll(async () => {
  source = await PostgresServer.start({ settings: { wal_level: 'logical', max_replication_slots: 4, max_wal_senders: 4 } });
  const url = await source.createDatabase('hr');
  hr = new Client({ connectionString: url });
  await hr.connect();
  await hr.query(`CREATE TABLE staff (staff_id int PRIMARY KEY, name text); INSERT INTO staff VALUES (1, 'Ada');`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-drift-'));
  writeFileSync(path.join(dir, 'shop.yaml'), SHOP);
  writeFileSync(path.join(dir, 'hr.yaml'), STAFF);
  stack = await Stack.start({
    pipelines: dir,
    // Long enough that the second push below adds to the counts without a second event.
    env: {
      HR_DB_URL: url,
      TRANSFORMER_DRIFT_EVENT_INTERVAL: '10m',
      MONITOR_ALERT_INTERVAL: '500ms',
      MONITOR_ALERT_FOR: '1s',
    },
  });
  nc = await connect({ servers: stack.nats.url });
});
afterAll(async () => {
  await nc?.close();
  await hr?.end().catch(() => undefined);
  await stack?.stopAll();
  await source?.cleanup();
});

/** Every message body on `subject` in `stream`, oldest first. */
async function bodies(stream: string, subject: string): Promise<any[]> {
  const c = await jetstream(nc).consumers.get(stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
  const out: any[] = [];
  const pending = (await c.info(true)).num_pending;
  if (pending === 0) return out;
  const it = await c.fetch({ max_messages: pending, expires: 2000 });
  for await (const m of it) {
    out.push(m.json());
    if (out.length === pending) break;
  }
  return out;
}

const rows = (table: string) => stack.query(`SELECT * FROM warehouse.${table} ORDER BY id`);

describe('on_drift, per dataset, through the stack', () => {
  it('lands, dead-letters, counts and reports each drifted record by its policy', async () => {
    const r = await stack.push('orders', ndjson(RECORDS), {}, 'shop');
    expect(r.status).toBe(202);
    expect(r.json.accepted).toBe(4);
    await waitFor(async () => ((await rows('grown')).length === 2 ? true : undefined), { timeoutMs: 60_000, what: 'grown loaded' });
    const dlq = await waitFor(
      async () => {
        const all = await bodies('TRIB_DLQ', 'trib.dlq.shop.transform.>');
        return all.length === 6 ? all : undefined;
      },
      { timeoutMs: 30_000, what: 'six transform dead letters' },
    );
    const dead = (ds: string) =>
      dlq
        .filter((d) => d.name === ds)
        .map((d) => [d.record.note, d.error.location.field])
        .sort();

    // freeze: only the record that fits lands; the other three are dead-lettered, the added field included.
    expect((await rows('frozen')).map((x) => [x.id, x.qty])).toEqual([['1', '2']]);
    expect(dead('frozen')).toEqual([
      ['added', 'colour'],
      ['no key', 'id'],
      ['retyped', 'qty'],
    ]);
    expect(dlq.find((d) => d.name === 'frozen' && d.record.note === 'added').error.message).toBe(
      'field "colour" is not declared in dataset "frozen" (on_drift: freeze)',
    );
    // discard_value: the added and the mistyped value are dropped, the records land; no key cannot land.
    expect((await rows('trimmed')).map((x) => [x.id, x.qty, x.note])).toEqual([
      ['1', '2', 'fits'],
      ['2', '3', 'added'],
      ['4', null, 'retyped'],
    ]);
    expect(dead('trimmed')).toEqual([['no key', 'id']]);
    expect(Object.keys((await rows('trimmed'))[0]!)).not.toContain('colour');
    // discard_row: drifted records are dropped, nothing dead-lettered.
    expect((await rows('strict')).map((x) => x.id)).toEqual(['1']);
    expect(dead('strict')).toEqual([]);
    // evolve: the new column is added and filled; missing and retyped are dead-lettered.
    expect((await rows('grown')).map((x) => [x.id, x.colour])).toEqual([
      ['1', null],
      ['2', 'red'],
    ]);
    expect(dead('grown')).toEqual([
      ['no key', 'id'],
      ['retyped', 'qty'],
    ]);

    // Counted: the transformer's counter, by policy and action.
    const metrics = await (await fetch(`${stack.url('transformer')}/metrics`)).text();
    const count = (labels: string) =>
      Number(new RegExp(`tributary_schema_drift_total\\{${labels},service="transformer"\\} (\\d+)`).exec(metrics)?.[1]);
    expect(count('pipeline="shop",dataset="trimmed",kind="new",policy="discard_value",action="value_dropped"')).toBe(1);
    expect(count('pipeline="shop",dataset="trimmed",kind="type_changed",policy="discard_value",action="value_dropped"')).toBe(1);
    expect(count('pipeline="shop",dataset="strict",kind="missing",policy="discard_row",action="row_dropped"')).toBe(1);
    expect(count('pipeline="shop",dataset="grown",kind="new",policy="evolve",action="column_added"')).toBe(1);
    expect(count('pipeline="shop",dataset="frozen",kind="new",policy="freeze",action="dead_lettered"')).toBe(1);

    // One drift event per dataset, field and kind.
    const events = await bodies('TRIB_EVENTS', 'trib.events.shop.drift');
    const seen = events.map((e) => `${e.dataset} ${e.field} ${e.kind} ${e.action}`).sort();
    expect(seen).toEqual([
      'frozen colour new dead_lettered',
      'frozen id missing dead_lettered',
      'frozen qty type_changed dead_lettered',
      'grown colour new column_added',
      'grown id missing dead_lettered',
      'grown qty type_changed dead_lettered',
      'strict colour new row_dropped',
      'strict id missing row_dropped',
      'strict qty type_changed row_dropped',
      'trimmed colour new value_dropped',
      'trimmed id missing dead_lettered',
      'trimmed qty type_changed value_dropped',
    ]);
    const strictNew = events.find((e) => e.dataset === 'strict' && e.field === 'colour');
    expect(strictNew).toMatchObject({ pipeline: 'shop', source: 'orders', seen: 'string', policy: 'discard_row', count: 1 });
    expect(strictNew.sample).toMatchObject({ id: 2, colour: 'red' });
    expect(events.find((e) => e.dataset === 'grown' && e.field === 'colour')).toMatchObject({ column_type: 'text' });
    expect(events.find((e) => e.dataset === 'frozen' && e.field === 'qty')).toMatchObject({ expected: 'integer', seen: 'string' });

    // The same drift again within the interval, and a field never seen: counted (each field of
    // the record), one event only for the new field.
    expect((await stack.push('orders', ndjson([{ id: 5, qty: 1, note: 'again', colour: 'blue', weight: 2.5 }]), {}, 'shop')).status).toBe(
      202,
    );
    await waitFor(async () => ((await rows('grown')).length === 3 ? true : undefined), { timeoutMs: 60_000, what: 'grown row 5' });
    expect((await rows('grown')).find((x) => x.id === '5')).toMatchObject({ colour: 'blue', weight: '2.5' });
    const again = await (await fetch(`${stack.url('transformer')}/metrics`)).text();
    expect(again).toContain(
      'tributary_schema_drift_total{pipeline="shop",dataset="strict",kind="new",policy="discard_row",action="row_dropped",service="transformer"} 3',
    );
    const later = await bodies('TRIB_EVENTS', 'trib.events.shop.drift');
    // Only the field never seen before (weight) is a new event, once per dataset.
    expect(later.length - events.length).toBe(4);
    expect(later.slice(events.length).every((e) => e.field === 'weight')).toBe(true);
  });

  it('evolve on a CDC source: a column added at the source appears in the warehouse table with its values', async () => {
    await waitFor(async () => ((await stack.query('SELECT * FROM warehouse.staff')).length === 1 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'the snapshot row',
    });
    await hr.query(
      `ALTER TABLE staff ADD COLUMN phone text; INSERT INTO staff VALUES (2, 'Grace', '555-0102'); UPDATE staff SET phone = '555-0101' WHERE staff_id = 1`,
    );
    const staff = await waitFor(
      async () => {
        const r = await stack.query(`SELECT staff_id, name, phone FROM warehouse.staff ORDER BY staff_id`).catch(() => []);
        return r.length === 2 && r[0]!.phone ? r : undefined;
      },
      { timeoutMs: 60_000, what: 'the phone column filled' },
    );
    expect(staff).toEqual([
      { staff_id: '1', name: 'Ada', phone: '555-0101' },
      { staff_id: '2', name: 'Grace', phone: '555-0102' },
    ]);
    const events = await bodies('TRIB_EVENTS', 'trib.events.hr.drift');
    expect(events.map((e) => [e.dataset, e.field, e.kind, e.action, e.column_type])).toEqual([
      ['staff', 'phone', 'new', 'column_added', 'text'],
    ]);
  });

  it('the monitor lists the drift on the pipeline status and fires TributarySchemaDrift', async () => {
    const drift = await waitFor(
      async () => {
        const d = (await stack.status('shop')).drift as any[];
        return d.length === 16 ? d : undefined;
      },
      { timeoutMs: 30_000, what: "shop's sixteen drifts on the status API" },
    );
    expect(drift.find((d) => d.dataset === 'strict' && d.field === 'colour')).toMatchObject({
      source: 'orders',
      kind: 'new',
      seen: 'string',
      policy: 'discard_row',
      action: 'row_dropped',
      count: 1,
      events: 1,
    });
    expect(drift.find((d) => d.dataset === 'frozen' && d.field === 'qty')).toMatchObject({
      kind: 'type_changed',
      expected: 'integer',
      count: 1,
    });
    expect((await stack.status('hr')).drift.map((d: any) => [d.field, d.column_type])).toEqual([['phone', 'text']]);
    const firing = await waitFor(
      async () => {
        const a = (await (await fetch(`${stack.url('monitor')}/api/alerts`)).json()) as {
          active: { alert: string; state: string; labels: Record<string, string>; summary: string }[];
        };
        return a.active.find((x) => x.alert === 'TributarySchemaDrift' && x.labels.pipeline === 'hr' && x.state === 'firing');
      },
      { timeoutMs: 30_000, what: 'TributarySchemaDrift firing for hr' },
    );
    expect(firing.labels).toEqual({ pipeline: 'hr', dataset: 'staff', field: 'phone', kind: 'new' });
    expect(firing.summary).toMatch(
      /^hr: field "phone" is new in dataset staff from source hr: [12] record\(s\), column added \(on_drift: evolve\)$/,
    );
  });
});

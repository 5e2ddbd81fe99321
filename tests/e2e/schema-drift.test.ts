/**
 * Schema drift through the real stack (docs/transforms.md, "Schema drift"): one push source feeds
 * four datasets, one per `on_drift` policy, with a record that fits, one with an added field, one
 * without its required key and one with a retyped value. Shows what lands in the warehouse, what
 * is dead-lettered (each field named), what is counted, and the drift events on
 * `trib.events.<pipeline>.drift` (one per dataset, field and kind, not one per record). Then
 * `evolve` on a `postgres_cdc` source: `ALTER TABLE ... ADD COLUMN` at the source, and the column
 * appears in the warehouse table with the new values, and the monitor shows the drift on
 * /api/pipelines/<name> and fires TributarySchemaDrift. Last, the rows loaded before a column
 * existed get it: `tributary sources resnapshot` re-reads the CDC table while writes go on (every
 * old row filled, none doubled, a change made meanwhile wins), a re-read redone after a crash
 * changes nothing, and a REST source's window re-run (`tributary offsets rewind`) fills an upsert
 * table's new column once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { setSourcePause } from '@tributary/runtime/nats';
import { FakeApis, PostgresServer, waitFor } from '@tributary/testkit';
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
      source_lsn: string
    steps:
      - map: { source_lsn: _lsn } # the source position: an older row never replaces a newer one
tables:
  staff: { from: staff, mode: upsert, key: [staff_id], position: source_lsn }
`;

// A REST source read in date windows (FakeApis' /generic/offset: item i updated i minutes after a
// base ten days back), into an upsert table whose dataset evolves.
const FEED = `
pipeline: feed
connections:
  api: { kind: http, base_url: "http://127.0.0.1:1", base_url_env: FEED_API_URL, auth: { type: bearer, secret: env:FEED_TOKEN } }
sources:
  items:
    kind: rest
    connection: api
    schedule: { every: 1s }
    request: { path: /generic/offset, query: { updated_after: '{{ window.start }}', updated_before: '{{ window.end }}' } }
    records: items
    pagination: { type: offset, size: 10, total: total }
    incremental: { start: 11d, cursor_field: updated_at }
datasets:
  item_rows:
    from: items
    on_drift: evolve
    fields:
      id: { type: string, required: true }
      n: integer
      updated_at: timestamp
tables:
  items: { from: item_rows, mode: upsert, key: [id] }
`;

const RECORDS = [
  { id: 1, qty: 2, note: 'fits' },
  { id: 2, qty: 3, note: 'added', colour: 'red' },
  { qty: 4, note: 'no key' },
  { id: 4, qty: 'four', note: 'retyped' },
];
const ndjson = (recs: object[]) => recs.map((r) => JSON.stringify(r)).join('\n');

let source: PostgresServer;
let fake: FakeApis;
let hr: Client;
let stack: Stack;
let nc: NatsConnection;

beforeAll(async () => {
  source = await PostgresServer.start({ settings: { wal_level: 'logical', max_replication_slots: 4, max_wal_senders: 4 } });
  const url = await source.createDatabase('hr');
  hr = new Client({ connectionString: url });
  await hr.connect();
  await hr.query(`CREATE TABLE staff (staff_id int PRIMARY KEY, name text); INSERT INTO staff VALUES (1, 'Ada');`);
  fake = await new FakeApis({ genericItems: 25 }).start();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-drift-'));
  writeFileSync(path.join(dir, 'shop.yaml'), SHOP);
  writeFileSync(path.join(dir, 'hr.yaml'), STAFF);
  writeFileSync(path.join(dir, 'feed.yaml'), FEED);
  stack = await Stack.start({
    pipelines: dir,
    // Long enough that the second push below adds to the counts without a second event.
    env: {
      HR_DB_URL: url,
      FEED_API_URL: fake.url,
      FEED_TOKEN: 't',
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
  await fake?.stop();
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
describe('after evolve, the rows loaded before the column existed are read again', () => {
  const resnapshotOf = async (): Promise<any> =>
    ((await (await fetch(`${stack.url('monitor')}/api/pipelines/hr/sources`)).json()) as { sources: any[] }).sources.find(
      (x) => x.source === 'hr',
    )?.resnapshot;
  const waitDone = (what: string, attempts?: number) =>
    waitFor(
      async () => {
        const r = await resnapshotOf();
        if (r?.state === 'failed') throw new Error(`resnapshot failed: ${r.error}`);
        return r?.state === 'done' && (attempts === undefined || r.attempts === attempts) ? r : undefined;
      },
      { timeoutMs: 60_000, what },
    );
  /** The ledger's counts of the re-read messages of one request (`resnap:<id>:...`). */
  const rereadCounts = async (id: string) =>
    (
      await stack.query(
        `SELECT sum(records)::int AS records, sum(inserted)::int AS inserted, sum(updated)::int AS updated, sum(unchanged)::int AS unchanged
           FROM tributary.load_ledger WHERE pipeline = 'hr' AND msg_id LIKE $1`,
        [`%:resnap:${id}:%`],
      )
    )[0];

  it('resnapshot: every old CDC row gets the new column once, while writes go on and the changes made meanwhile win', async () => {
    await hr.query(`INSERT INTO staff (staff_id, name) SELECT g, 'staff ' || g FROM generate_series(100, 399) g`);
    await waitFor(async () => ((await stack.query('SELECT count(*)::int AS n FROM warehouse.staff'))[0]!.n === 302 ? true : undefined), {
      timeoutMs: 60_000,
      what: '302 staff rows',
    });
    // A column with a default: PostgreSQL fills it in the rows it has without a change record, so
    // only a re-read can bring their value. The next insert carries it and `evolve` adds the column.
    await hr.query(`ALTER TABLE staff ADD COLUMN region text NOT NULL DEFAULT 'emea'; INSERT INTO staff VALUES (400, 'Lin', NULL, 'apac')`);
    await waitFor(
      async () =>
        (await stack.query('SELECT region FROM warehouse.staff WHERE staff_id = 400').catch(() => []))[0]?.region === 'apac'
          ? true
          : undefined,
      { timeoutMs: 60_000, what: 'the region column added and filled for the new row' },
    );
    expect((await stack.query('SELECT count(*)::int AS n FROM warehouse.staff WHERE region IS NULL'))[0]!.n).toBe(302);

    // Writes go on during the resnapshot: updates of old rows, one after another.
    let writing = true;
    const writer = (async () => {
      let i = 0;
      while (writing) {
        await hr.query('UPDATE staff SET region = $1 WHERE staff_id = $2', [`w${i}`, 100 + ((i * 37) % 300)]);
        i++;
        await new Promise((r) => setTimeout(r, 5));
      }
      return i;
    })();
    await new Promise((r) => setTimeout(r, 300));
    const asked = await stack.cli(['sources', 'resnapshot', 'hr', 'hr', '--table', 'staff']);
    expect(asked.stdout).toMatch(/^requested resnapshot [0-9a-f]{8} of public\.staff from hr\/hr$/m);
    const running = await waitFor(async () => ((await resnapshotOf())?.lsn ? await resnapshotOf() : undefined), {
      timeoutMs: 30_000,
      what: 'the re-read published',
    });
    await new Promise((r) => setTimeout(r, 300)); // more changes after the re-read's LSN
    writing = false;
    const writes = await writer;
    const done = await waitDone('the resnapshot done');
    expect(done).toMatchObject({ table: 'public.staff', where: null, state: 'done', rows: 303, attempts: 1, lsn: running.lsn });
    // The CLI shows it too.
    expect((await stack.cli(['sources', 'status', 'hr', 'hr'])).stdout).toContain(`resnapshot of public.staff: done at`);

    // The warehouse ends equal to the source: every old row has its region (the default, or the
    // value written meanwhile), none doubled.
    const source = (await hr.query('SELECT staff_id, name, region FROM staff ORDER BY staff_id')).rows;
    await waitFor(
      async () => {
        const wh = await stack.query('SELECT staff_id::int AS staff_id, name, region FROM warehouse.staff ORDER BY staff_id');
        return JSON.stringify(wh) === JSON.stringify(source) ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'the warehouse equal to the source' },
    );
    const split = (
      await stack.query(
        `SELECT count(*) FILTER (WHERE source_lsn::pg_lsn = $1::pg_lsn)::int AS reread,
                count(*) FILTER (WHERE source_lsn::pg_lsn > $1::pg_lsn)::int AS later,
                count(*) FILTER (WHERE region = 'emea')::int AS defaulted
           FROM warehouse.staff`,
        [done.lsn],
      )
    )[0]!;
    // Rows last changed before the re-read hold the re-read's row; rows changed after it hold that change.
    expect(split.reread).toBeGreaterThan(0);
    expect(split.later).toBeGreaterThan(0);
    expect(split.defaulted).toBeGreaterThan(0);
    expect(writes).toBeGreaterThan(20);
    // Every re-read row was loaded, and none of their keys was new to the table: nothing doubled.
    const id = /requested resnapshot ([0-9a-f]{8})/.exec(asked.stdout)![1]!;
    expect(await rereadCounts(id)).toMatchObject({ records: 303, inserted: 0 });
  });

  it('a resnapshot cut short by a crash is read again and changes nothing the first one loaded', async () => {
    // What a crash during the read leaves: the request `running`, one attempt taken.
    const kv = await new Kvm(nc).open('trib_cursors');
    const before = await stack.query('SELECT staff_id, name, region, source_lsn, _loaded_at FROM warehouse.staff ORDER BY staff_id');
    await kv.put(
      'cursor.hr.hr.resnapshot',
      JSON.stringify({
        id: 'crashed1',
        table: 'public.staff',
        requestedAt: Date.now(),
        by: 'test',
        state: 'running',
        attempts: 1,
        startedAt: Date.now(),
      }),
    );
    const done = await waitDone('the interrupted resnapshot redone', 2);
    expect(done).toMatchObject({ rows: 303, attempts: 2 });
    await waitFor(async () => ((await rereadCounts('crashed1'))?.records === 303 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the redone re-read loaded',
    });
    // Loaded again under new IDs, and found every row as it was: the data does not change (only
    // the position column moves to the new re-read's LSN).
    const counts = await rereadCounts('crashed1');
    expect(counts.inserted).toBe(0);
    const after = await stack.query('SELECT staff_id, name, region FROM warehouse.staff ORDER BY staff_id');
    expect(after).toEqual(before.map(({ staff_id, name, region }) => ({ staff_id, name, region })));
  });

  it("REST: a window re-run (offsets rewind) fills an upsert table's new column on the old rows, once", async () => {
    const items = () => stack.query<{ id: string; colour?: string | null }>('SELECT * FROM warehouse.items ORDER BY id').catch(() => []);
    await waitFor(async () => ((await items()).length === 25 ? true : undefined), { timeoutMs: 20_000, what: 'the 25 items' });
    // The API gains a field; the next window brings two new items with it, and `evolve` adds the column.
    fake.genericExtra = (i) => ({ colour: `c${i}` });
    fake.addGenericItems(2);
    await waitFor(async () => ((await items()).filter((r) => r.colour).length === 2 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'the colour column on the two new items',
    });
    expect((await items()).filter((r) => r.colour === null)).toHaveLength(25);

    // Re-run the windows from the start: pause, rewind the cursor, resume.
    // Paused and resumed by the KV key `tributary sources pause|resume` writes (each CLI start costs
    // seconds here; the commands themselves are tested in source-runs.test.ts); rewound by the CLI.
    const kv = await new Kvm(nc).open('trib_cursors');
    const rerun = async (): Promise<number> => {
      await setSourcePause(kv, 'feed', 'items', { at: Date.now(), by: 'test' });
      await waitFor(
        // Exit 1 (refused) rejects: tried again until the run in progress ended.
        () =>
          stack.cli(['offsets', 'rewind', 'feed', 'items', '{}']).then(
            () => true,
            () => undefined,
          ),
        { timeoutMs: 30_000, what: 'the rewind accepted (the run in progress ended)' },
      );
      const at = Date.now();
      await setSourcePause(kv, 'feed', 'items', undefined);
      return at;
    };
    const first = await rerun();
    await waitFor(async () => ((await items()).every((r) => r.colour) ? true : undefined), {
      timeoutMs: 60_000,
      what: 'every item coloured',
    });
    expect((await items()).map((r) => [r.id, r.colour])).toEqual(
      Array.from({ length: 27 }, (_, i) => [`item-${String(i).padStart(4, '0')}`, `c${i}`]),
    );
    const loadedSince = async (t: number) =>
      (
        await stack.query(
          `SELECT sum(inserted)::int AS inserted, sum(updated)::int AS updated, sum(unchanged)::int AS unchanged
             FROM tributary.load_ledger WHERE pipeline = 'feed' AND loaded_at >= to_timestamp($1 / 1000.0)`,
          [t],
        )
      )[0]!;
    await waitFor(async () => ((await loadedSince(first)).updated === 25 ? true : undefined), {
      timeoutMs: 30_000,
      what: '25 rows updated',
    });
    expect(await loadedSince(first)).toMatchObject({ inserted: 0, updated: 25 });

    // A second re-run finds every row as it is: the column was filled once.
    const second = await rerun();
    await waitFor(async () => ((await loadedSince(second)).unchanged === 27 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'the second re-run loaded, unchanged',
    });
    expect(await loadedSince(second)).toEqual({ inserted: 0, updated: 0, unchanged: 27 });
  });
});

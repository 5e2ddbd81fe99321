/**
 * `accumulating` against a real PostgreSQL, with fast-check: the milestone events of orders
 * arrive in random order, batching and redelivery; each order's row must equal the merge of all
 * its events by the column rules, whatever the arrival.
 */
import { stopAll } from '@tributary/testkit';
import fc from 'fast-check';
import { BatchLoader, type LoadItem } from '../src/batch-loader';
import { at, load, message, ms, noRejects, startWarehouse, type Warehouse } from './warehouse-fixture';

const SPEC = `
pipeline: shop
sources:
  order_events_in: { kind: push }
datasets:
  order_events:
    from: order_events_in
    fields:
      order_id: { type: string, required: true }
      event_at: timestamp
      status: string
      created_at: timestamp
      agreed_delivery_date: date
      delivered_at: timestamp
      units: integer
      amount: number
tables:
  fact_order:
    from: order_events
    mode: accumulating
    key: [order_id]
    order_by: event_at
    columns: { created_at: min, delivered_at: max, units: sum, agreed_delivery_date: latest, event_at: max }
`;

jest.setTimeout(150_000);
const RUNS = { numRuns: Number(process.env.PROPERTY_RUNS ?? 30), interruptAfterTimeLimit: 60_000 };

interface Ev {
  order_id: string;
  t: number;
  status: string | null;
  created: number | null;
  agreed: string | null;
  delivered: number | null;
  units: number | null;
  amount: number | null;
}

let w: Warehouse;
beforeAll(async () => {
  w = await startWarehouse(SPEC);
});
afterAll(async () => {
  await w?.pool.end();
  await stopAll();
});

const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(a, { nil: null, freq: 2 });
/** Events of orders o1..o3 with distinct event times per order (ties would make `latest` arrival-dependent). */
const events = fc
  .array(
    fc.record({
      order_id: fc.constantFrom('o1', 'o2', 'o3'),
      status: opt(fc.constantFrom('created', 'agreed', 'delivered')),
      created: opt(fc.integer({ min: 0, max: 100 })),
      agreed: opt(fc.constantFrom('2024-02-01', '2024-02-15', '2024-03-01')),
      delivered: opt(fc.integer({ min: 100, max: 200 })),
      units: opt(fc.integer({ min: 1, max: 5 })),
      amount: opt(fc.constantFrom(1.5, 2, 10)),
    }),
    { minLength: 1, maxLength: 14 },
  )
  .map((es) => es.map((e, i): Ev => ({ ...e, t: i * 7 + 1 })));

const delivery = events.chain((evs) =>
  fc.record({
    evs: fc.constant(evs),
    order: fc.array(fc.nat(), { minLength: evs.length, maxLength: evs.length }),
    cuts: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 20, maxLength: 20 }),
    flush: fc.integer({ min: 1, max: 3 }),
    redeliver: fc.array(fc.nat(), { maxLength: 3 }),
    parallel: fc.boolean(),
  }),
);

const record = (e: Ev) => ({
  order_id: e.order_id,
  event_at: at(e.t),
  status: e.status,
  created_at: e.created === null ? null : at(e.created),
  agreed_delivery_date: e.agreed,
  delivered_at: e.delivered === null ? null : at(e.delivered),
  units: e.units,
  amount: e.amount,
});

/** The row the rules promise for one order. */
function expected(evs: Ev[]) {
  const byT = [...evs].sort((a, b) => a.t - b.t);
  const latest = <K extends keyof Ev>(k: K) => [...byT].reverse().find((e) => e[k] !== null)?.[k] ?? null;
  const nums = (k: 'created' | 'delivered' | 'units') => byT.map((e) => e[k]).filter((v): v is number => v !== null);
  const min = nums('created').length ? ms(at(Math.min(...nums('created')))) : null;
  const max = nums('delivered').length ? ms(at(Math.max(...nums('delivered')))) : null;
  return {
    status: latest('status'),
    created_at: min,
    agreed_delivery_date: latest('agreed'),
    delivered_at: max,
    units: nums('units').length ? nums('units').reduce((a, b) => a + b, 0) : null,
    amount: latest('amount'),
    event_at: ms(at(byT[byT.length - 1]!.t)),
  };
}

describe('accumulating (property tests against PostgreSQL)', () => {
  it('each order row is the merge of all its events by the column rules, whatever the arrival order, batching and redelivery', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(delivery, async (d) => {
        await w.pool.query('TRUNCATE warehouse.fact_order, tributary.load_ledger');
        const arrivals = d.evs.map((e, i) => ({ e, k: d.order[i]! })).sort((a, b) => a.k - b.k);
        const msgs: LoadItem[] = [];
        for (let i = 0, c = 0; i < arrivals.length; c++) {
          const n = d.cuts[c % d.cuts.length]!;
          msgs.push(
            message(
              `acc${run}-${msgs.length}`,
              'order_events',
              arrivals.slice(i, i + n).map((a) => record(a.e)),
            ),
          );
          i += n;
        }
        run++;
        const flushes: LoadItem[][] = [];
        for (let i = 0; i < msgs.length; i += d.flush)
          flushes.push([...msgs.slice(i, i + d.flush), ...d.redeliver.filter((r) => r % (i + 1) < i).map((r) => msgs[r % (i + 1)]!)]);
        if (d.parallel) await Promise.all(flushes.map((f) => new BatchLoader(w.pool, w.pipeline).load(f, noRejects)));
        else for (const f of flushes) await load(w, f);
        const rows = (
          await w.pool.query(
            `SELECT order_id, status, created_at, agreed_delivery_date::text, delivered_at, units::int, amount, event_at FROM warehouse.fact_order ORDER BY order_id`,
          )
        ).rows;
        const ids = [...new Set(d.evs.map((e) => e.order_id))].sort();
        expect(rows.map((r) => r.order_id)).toEqual(ids);
        for (const r of rows) {
          expect({
            ...r,
            order_id: undefined,
            created_at: r.created_at === null ? null : ms(r.created_at),
            delivered_at: r.delivered_at === null ? null : ms(r.delivered_at),
            event_at: ms(r.event_at),
          }).toEqual({ ...expected(d.evs.filter((e) => e.order_id === r.order_id)), order_id: undefined });
        }
      }),
      RUNS,
    );
  });

  it('counts an event that changes nothing as unchanged in the ledger', async () => {
    await w.pool.query('TRUNCATE warehouse.fact_order, tributary.load_ledger');
    const e = { order_id: 'x', event_at: at(1), status: 'created', created_at: at(1) };
    await load(w, [message('s1', 'order_events', [e])]);
    await load(w, [message('s2', 'order_events', [e])]);
    const ledger = (await w.pool.query(`SELECT msg_id, written, inserted, unchanged, skipped FROM tributary.load_ledger ORDER BY msg_id`))
      .rows;
    expect(ledger).toEqual([
      { msg_id: 's1', written: 1, inserted: 1, unchanged: 0, skipped: 0 },
      { msg_id: 's2', written: 0, inserted: 0, unchanged: 1, skipped: 0 },
    ]);
  });
});

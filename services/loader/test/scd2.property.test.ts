/**
 * `scd2` against a real PostgreSQL, with fast-check: random histories of dimension members are
 * delivered in random order, split into random messages and flushes, partly redelivered, and
 * partly loaded by two loaders at once; the dimension must come out as the history says. Then
 * explicit cases of late records splitting a version that absorbed several records (one a
 * shrunk counterexample of the first property), the bound on `_absorbed_at`, and its migration.
 */
import { stopAll } from '@tributary/testkit';
import fc from 'fast-check';
import { ensureTable, schemaProblems } from '@tributary/warehouse/table-ddl';
import { BatchLoader, type LoadItem } from '../src/batch-loader';
import { SCD2_ABSORBED_MAX } from '../src/modes/scd2';
import { at, load, message, ms, noRejects, startWarehouse, type Warehouse } from './warehouse-fixture';

const SPEC = `
pipeline: crm
sources:
  members_in: { kind: push }
datasets:
  members:
    from: members_in
    fields:
      id: { type: string, required: true }
      name: string
      tier: string
      note: string
      changed_at: timestamp
      deleted: boolean
  members_now:
    from: members_in
    fields: { id: { type: string, required: true }, name: string, tier: string, note: string }
tables:
  dim_member:
    from: members
    mode: scd2
    key: [id]
    track: [name, tier]
    valid_from: changed_at
    deletes: { field: deleted }
  dim_member_now:
    from: members_now
    mode: scd2
    key: [id]
    surrogate_key: member_sk
`;

/** One record of a member's history. */
interface Ev {
  id: string;
  t: number;
  name: string | null;
  tier: string;
  note: string;
  deleted: boolean;
}

// Property runs load dozens of flushes each against a real server: a number of runs (more with
// PROPERTY_RUNS), cut short on a slow machine rather than timing out the test.
jest.setTimeout(150_000);
const RUNS = { numRuns: Number(process.env.PROPERTY_RUNS ?? 30), interruptAfterTimeLimit: 60_000 };

let w: Warehouse;
beforeAll(async () => {
  w = await startWarehouse(SPEC);
});
afterAll(async () => {
  await w?.pool.end();
  await stopAll();
});

const asEv = (r: Row): Ev => ({ id: r.id, t: r.valid_from, name: r.name, tier: r.tier ?? '', note: r.note ?? '', deleted: r.is_deleted });
const sameState = (a: Ev, b: Ev): boolean => a.deleted === b.deleted && (a.deleted || (a.name === b.name && a.tier === b.tier));
const record = (e: Ev): Record<string, unknown> => ({
  id: e.id,
  name: e.name,
  tier: e.tier,
  note: e.note,
  changed_at: at(e.t),
  deleted: e.deleted,
});

/** Random states of one member at strictly increasing times. */
const history = (id: string, changesOnly: boolean): fc.Arbitrary<Ev[]> =>
  fc
    .array(
      fc.record({
        gap: fc.integer({ min: 1, max: 50 }),
        name: fc.constantFrom('ann', 'bob', null),
        tier: fc.constantFrom('gold', 'silver'),
        note: fc.string({ maxLength: 3 }),
        deleted: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
      }),
      { minLength: 1, maxLength: 7 },
    )
    .map((steps) => {
      let t = 0;
      const out: Ev[] = [];
      for (const s of steps) {
        t += s.gap;
        const e: Ev = { id, t, name: s.name, tier: s.tier, note: s.note, deleted: s.deleted };
        // Change histories: every record differs from the one before it in time.
        if (changesOnly && out.length > 0 && sameState(out[out.length - 1]!, e)) continue;
        out.push(e);
      }
      return out;
    });

/** Arrival: a shuffled list with some exact duplicates, cut into messages, flushes and waves. */
const delivery = (changesOnly: boolean) =>
  fc
    .tuple(history('m1', changesOnly), history('m2', changesOnly), history('m3', changesOnly))
    .map((hs) => hs.flat())
    .chain((events) =>
      fc.record({
        events: fc.constant(events),
        order: fc.array(fc.nat(), { minLength: events.length, maxLength: events.length }),
        dupes: fc.array(fc.nat({ max: events.length - 1 }), { maxLength: 3 }),
        cuts: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: events.length + 3, maxLength: events.length + 3 }),
        flushSizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 20, maxLength: 20 }),
        redeliver: fc.array(fc.nat(), { maxLength: 3 }),
        parallel: fc.boolean(),
      }),
    );

type Delivery = {
  events: Ev[];
  order: number[];
  dupes: number[];
  cuts: number[];
  flushSizes: number[];
  redeliver: number[];
  parallel: boolean;
};

/** Loads a delivery into the warehouse: flushes in sequence, or in waves of two concurrent loaders. */
async function deliver(d: Delivery, run: number): Promise<void> {
  const flushes = flushesOf(d, run);
  if (!d.parallel) {
    for (const f of flushes) await load(w, f);
    return;
  }
  for (let i = 0; i < flushes.length; i += 2) {
    // Both loaders finish before a failure is thrown: one left running would collide with the
    // next run's TRUNCATE and fail later tests for no fault of theirs.
    const wave = await Promise.allSettled(flushes.slice(i, i + 2).map((f) => new BatchLoader(w.pool, w.pipeline).load(f, noRejects)));
    for (const r of wave) if (r.status === 'rejected') throw r.reason;
  }
}

/** A delivery's flushes of messages. */
function flushesOf(d: Delivery, run: number): LoadItem[][] {
  const arrivals = [...d.events.map((e, i) => ({ e, k: d.order[i]! })), ...d.dupes.map((i, j) => ({ e: d.events[i]!, k: d.order[j] ?? j }))]
    .sort((a, b) => a.k - b.k)
    .map((x) => x.e);
  const msgs: LoadItem[] = [];
  for (let i = 0, c = 0; i < arrivals.length; c++) {
    const n = d.cuts[c % d.cuts.length]!;
    msgs.push(message(`r${run}-m${msgs.length}`, 'members', arrivals.slice(i, i + n).map(record)));
    i += n;
  }
  const flushes: LoadItem[][] = [];
  for (let i = 0, f = 0; i < msgs.length; f++) {
    const n = d.flushSizes[f % d.flushSizes.length]!;
    const flush = msgs.slice(i, i + n);
    // Redelivery: an earlier message comes again with this flush (the ledger must skip it).
    for (const r of d.redeliver) if (r % (i + 1) < i) flush.push(msgs[r % (i + 1)]!);
    flushes.push(flush);
    i += n;
  }
  return flushes;
}

interface Row {
  id: string;
  name: string | null;
  tier: string | null;
  note: string | null;
  valid_from: number;
  valid_to: number;
  is_current: boolean;
  is_deleted: boolean;
}

async function versions(table = 'dim_member'): Promise<Row[]> {
  const r = await w.pool.query(
    `SELECT id, name, tier, note, valid_from, valid_to, is_current, is_deleted FROM warehouse.${table} ORDER BY id, valid_from`,
  );
  return r.rows.map((x) => ({ ...x, valid_from: ms(x.valid_from), valid_to: ms(x.valid_to) }));
}

const reset = () => w.pool.query('TRUNCATE warehouse.dim_member, warehouse.dim_member_now, tributary.load_ledger');

describe('scd2 (property tests against PostgreSQL)', () => {
  it('a history of changes comes out the same whatever the arrival order, batching, redelivery and concurrency', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(delivery(true), async (d) => {
        await reset();
        await deliver(d, run++);
        const expected: Row[] = [];
        for (const id of ['m1', 'm2', 'm3']) {
          const h = d.events.filter((e) => e.id === id).sort((a, b) => a.t - b.t);
          h.forEach((e, i) =>
            expected.push({
              id,
              name: e.name,
              tier: e.tier,
              note: e.note,
              valid_from: ms(at(e.t)),
              valid_to: i + 1 < h.length ? ms(at(h[i + 1]!.t)) : Infinity,
              is_current: i + 1 === h.length && !e.deleted,
              is_deleted: e.deleted,
            }),
          );
        }
        // Untracked columns (and every column of a deletion marker) hold the latest record of a
        // version; a late change that splits a version leaves them on both parts, so only the
        // last version's are exact.
        const got = await versions();
        const lastOf = (rows: Row[], i: number) => i + 1 === rows.length || rows[i + 1]!.id !== rows[i]!.id;
        const exact = (rows: Row[]) =>
          rows.map((r, i) => (lastOf(rows, i) ? r : { ...r, note: '', ...(r.is_deleted ? { name: null, tier: null } : {}) }));
        expect(exact(got)).toEqual(exact(expected));
      }),
      RUNS,
    );
  });

  it('any stream of records (repeats included) keeps versions contiguous, distinct, and current with the latest record', async () => {
    let run = 1000;
    await fc.assert(
      fc.asyncProperty(delivery(false), async (d) => {
        await reset();
        await deliver(d, run++);
        const rows = await versions();
        for (const id of ['m1', 'm2', 'm3']) {
          const h = d.events.filter((e) => e.id === id).sort((a, b) => a.t - b.t);
          const v = rows.filter((r) => r.id === id);
          expect(v[0]!.valid_from).toBe(ms(at(h[0]!.t)));
          v.forEach((r, i) => {
            const next = v[i + 1];
            expect(r.valid_to).toBe(next ? next.valid_from : Infinity);
            expect(r.is_current).toBe(!next && !r.is_deleted);
            if (next) expect(sameState(asEv(r), asEv(next))).toBe(false);
            // Every version starts at a record with its values.
            expect(h.some((e) => ms(at(e.t)) === r.valid_from && sameState(e, asEv(r)))).toBe(true);
          });
          const last = h[h.length - 1]!;
          const lastRow = v[v.length - 1]!;
          expect(lastRow.is_deleted).toBe(last.deleted);
          if (!last.deleted) expect([lastRow.name, lastRow.tier]).toEqual([last.name, last.tier]);
          // Untracked columns are type 1 within a version: the latest record's.
          expect(lastRow.note).toBe(last.note);
        }
      }),
      RUNS,
    );
  });
});

describe('scd2 direct statement (one record of a member after its current version)', () => {
  /** Every column of the dimension but the surrogate key and the load time, in version order. */
  const allColumns = async (): Promise<unknown[]> =>
    (await w.pool.query('SELECT * FROM warehouse.dim_member ORDER BY id, valid_from')).rows.map(
      ({ dim_member_sk: _sk, _loaded_at: _at, ...rest }) => rest,
    );
  /**
   * Loads `flushes` in order; after each, m1's current version loses its absorbed times' array (a
   * row from before the column) and m2's drops its latest (a row a loader of that time rewrote).
   */
  const loadAll = async (flushes: LoadItem[][]): Promise<unknown[]> => {
    await reset();
    for (const f of flushes) {
      await load(w, f);
      await w.pool.query(`UPDATE warehouse.dim_member SET _absorbed_at = CASE id WHEN 'm1' THEN NULL
        ELSE nullif(_absorbed_at[:cardinality(_absorbed_at) - 1], '{}') END WHERE id IN ('m1', 'm2') AND is_current`);
    }
    return allColumns();
  };

  it('closes a version whose absorbed times have no array as the plan does (the array of its latest)', async () => {
    const rec = (t: number, tier: string) => record(ev('m1', t, ['ann', tier]));
    const flushes = [
      [message('d1', 'members', [rec(1, 'gold')])],
      [message('d2', 'members', [rec(3, 'gold')])],
      [message('d3', 'members', [rec(5, 'silver')])],
    ];
    const direct = await loadAll(flushes);
    expect(await absorbed('m1')).toEqual([[3], null]);
    expect(direct).toEqual(await loadAll(flushes.map((f) => f.map((m) => ({ ...m, records: [...m.records, ...m.records] })))));
  });

  it('writes every column as the plan does', async () => {
    let run = 2000;
    await fc.assert(
      fc.asyncProperty(delivery(false), async (d) => {
        const flushes = flushesOf({ ...d, parallel: false }, run++);
        const direct = await loadAll(flushes);
        // Each record twice (the same values at the same time, one version): no member of a
        // flush has one record, so every flush takes the plan.
        const planned = await loadAll(flushes.map((f) => f.map((m) => ({ ...m, records: m.records.flatMap((r) => [r, r]) }))));
        expect(direct).toEqual(planned);
      }),
      RUNS,
    );
  });
});

/** The versions of one member as compact tuples: [state, from, to], times in minutes. */
async function timeline(id: string): Promise<[string, number, number][]> {
  const rows = (await versions()).filter((r) => r.id === id);
  const min = (v: number) => (v === Infinity ? Infinity : (v - Date.UTC(2024, 0, 1)) / 60_000);
  return rows.map((r) => [r.is_deleted ? 'del' : `${r.name}/${r.tier}`, min(r.valid_from), min(r.valid_to)]);
}

/** `_absorbed_at` of a member's versions, in minutes (null when none). */
async function absorbed(id: string): Promise<(number[] | null)[]> {
  const r = await w.pool.query<{ a: Date[] | null }>(
    `SELECT _absorbed_at AS a FROM warehouse.dim_member WHERE id = $1 ORDER BY valid_from`,
    [id],
  );
  return r.rows.map((x) => (x.a === null ? null : x.a.map((d) => (ms(d) - Date.UTC(2024, 0, 1)) / 60_000)));
}

const ev = (id: string, t: number, state: 'del' | [string, string], note = ''): Ev =>
  state === 'del' ? { id, t, name: null, tier: '', note, deleted: true } : { id, t, name: state[0], tier: state[1], note, deleted: false };

/** Loads each group of events as its own flush (one message per group), in order. */
async function flushes(tag: string, groups: Ev[][]): Promise<void> {
  for (const [i, g] of groups.entries()) await load(w, [message(`${tag}-${i}`, 'members', g.map(record))]);
}

describe('scd2 late records that split a version (explicit cases)', () => {
  beforeEach(reset);

  // fast-check counterexample (seed 1085333680): the deletion version absorbed t74 and t143; a
  // late t64 must resume the deletion at t74 (its earliest absorbed event after t64), not t143.
  const cx = {
    42: ev('m2', 42, 'del'),
    64: ev('m2', 64, ['ann', 'silver']),
    74: ev('m2', 74, 'del'),
    107: ev('m2', 107, ['bob', 'gold']),
    143: ev('m2', 143, 'del'),
  };
  /** The time-ordered history of the counterexample, however it arrives. */
  const cxHistory = [
    ['del', 42, 64],
    ['ann/silver', 64, 74],
    ['del', 74, 107],
    ['bob/gold', 107, 143],
    ['del', 143, Infinity],
  ];

  it('resumes a deletion at the earliest event it absorbed after the late record', async () => {
    await flushes('cx', [[cx[42]], [cx[74]], [cx[143]], [cx[64]], [cx[107]]]);
    expect(await timeline('m2')).toEqual(cxHistory);
    expect(await absorbed('m2')).toEqual([null, null, null, null, null]);
  });

  it('resumes the same way when both late records come in one flush', async () => {
    await flushes('cx1', [[cx[42]], [cx[74]], [cx[143]], [cx[64], cx[107]]]);
    expect(await timeline('m2')).toEqual(cxHistory);
  });

  it('resumes a state at the earliest event it absorbed after the late record (A, A, A, then B late)', async () => {
    const A = ['ann', 'gold'] as [string, string];
    await flushes('aba', [[ev('m1', 1, A, 'n1')], [ev('m1', 3, A, 'n3')], [ev('m1', 5, A, 'n5')]]);
    expect(await timeline('m1')).toEqual([['ann/gold', 1, Infinity]]);
    expect(await absorbed('m1')).toEqual([[3, 5]]);
    await flushes('aba-late', [[ev('m1', 2, ['bob', 'gold'])]]);
    expect(await timeline('m1')).toEqual([
      ['ann/gold', 1, 2],
      ['bob/gold', 2, 3],
      ['ann/gold', 3, Infinity],
    ]);
    expect(await absorbed('m1')).toEqual([null, null, [5]]);
    // Another late record inside the resumed run splits it again, at t5.
    await flushes('aba-later', [[ev('m1', 4, ['cy', 'gold'])]]);
    expect(await timeline('m1')).toEqual([
      ['ann/gold', 1, 2],
      ['bob/gold', 2, 3],
      ['ann/gold', 3, 4],
      ['cy/gold', 4, 5],
      ['ann/gold', 5, Infinity],
    ]);
    const cur = (await versions()).filter((r) => r.id === 'm1' && r.is_current);
    expect(cur.map((r) => r.note)).toEqual(['n5']);
  });

  it('a version whose start a late equal record moved back still resumes at its old start', async () => {
    const A = ['ann', 'gold'] as [string, string];
    const B = ['bob', 'gold'] as [string, string];
    await flushes('back', [[ev('m3', 10, A)], [ev('m3', 20, B)], [ev('m3', 15, B)]]);
    expect(await timeline('m3')).toEqual([
      ['ann/gold', 10, 15],
      ['bob/gold', 15, Infinity],
    ]);
    expect(await absorbed('m3')).toEqual([null, [20]]);
    await flushes('back-2', [[ev('m3', 17, A)]]);
    expect(await timeline('m3')).toEqual([
      ['ann/gold', 10, 15],
      ['bob/gold', 15, 17],
      ['ann/gold', 17, 20],
      ['bob/gold', 20, Infinity],
    ]);
  });

  it('carries the absorbed times of a version no record lands among, and splits them later', async () => {
    const A = ['ann', 'gold'] as [string, string];
    await flushes('carry', [[ev('m2', 10, A)], [ev('m2', 20, A)], [ev('m2', 30, A)]]);
    // Before its start and after its latest event: the array rides along whole, in place.
    await flushes('carry-2', [[ev('m2', 5, A), ev('m2', 40, A)]]);
    expect(await timeline('m2')).toEqual([['ann/gold', 5, Infinity]]);
    expect(await absorbed('m2')).toEqual([[10, 20, 30, 40]]);
    await flushes('carry-3', [[ev('m2', 25, ['bob', 'gold'])]]);
    expect(await timeline('m2')).toEqual([
      ['ann/gold', 5, 25],
      ['bob/gold', 25, 30],
      ['ann/gold', 30, Infinity],
    ]);
    expect(await absorbed('m2')).toEqual([[10, 20], null, [40]]);
  });

  it('fills in an inferred member, keeping its surrogate key, and splits what it absorbed later', async () => {
    // What a fact lookup inserts for a member that does not exist yet (postgres/dimension-lookups.ts).
    const sk = (
      await w.pool.query(
        `INSERT INTO warehouse.dim_member (id, valid_from, is_inferred, _msg_id) VALUES ('m3', '-infinity', true, 'fact') RETURNING dim_member_sk`,
      )
    ).rows[0].dim_member_sk;
    const A = ['ann', 'gold'] as [string, string];
    await flushes('inf', [[ev('m3', 1, A)], [ev('m3', 3, A)], [ev('m3', 5, A)]]);
    expect(await timeline('m3')).toEqual([['ann/gold', 1, Infinity]]);
    expect(await absorbed('m3')).toEqual([[3, 5]]);
    await flushes('inf-late', [[ev('m3', 2, ['bob', 'gold'])]]);
    expect(await timeline('m3')).toEqual([
      ['ann/gold', 1, 2],
      ['bob/gold', 2, 3],
      ['ann/gold', 3, Infinity],
    ]);
    const first = await w.pool.query(
      `SELECT dim_member_sk, is_inferred FROM warehouse.dim_member WHERE id = 'm3' ORDER BY valid_from LIMIT 1`,
    );
    expect(first.rows).toEqual([{ dim_member_sk: sk, is_inferred: false }]);
  });

  it(`keeps the latest ${SCD2_ABSORBED_MAX} absorbed times: an older late record resumes the state at the oldest kept one`, async () => {
    const A = ['ann', 'gold'] as [string, string];
    const n = SCD2_ABSORBED_MAX + 6;
    // Start at t0, then n unchanged records t1..tn in two flushes.
    await flushes('cap', [
      [ev('m1', 0, A)],
      Array.from({ length: n / 2 }, (_, i) => ev('m1', i + 1, A)),
      Array.from({ length: n / 2 }, (_, i) => ev('m1', n / 2 + i + 1, A)),
    ]);
    const kept = Array.from({ length: SCD2_ABSORBED_MAX }, (_, i) => n - SCD2_ABSORBED_MAX + 1 + i);
    expect(await absorbed('m1')).toEqual([kept]);
    // A late B at t2, older than the oldest kept time (t7): A resumes at t7, not t3 (approximate).
    await flushes('cap-late', [[ev('m1', 2, ['bob', 'gold'])]]);
    expect(await timeline('m1')).toEqual([
      ['ann/gold', 0, 2],
      ['bob/gold', 2, kept[0]!],
      ['ann/gold', kept[0]!, Infinity],
    ]);
    expect(await absorbed('m1')).toEqual([null, null, kept.slice(1)]);
  });

  it('gets _absorbed_at on an existing table through migrate; rows written before resume at _last_event_at', async () => {
    const A = ['ann', 'gold'] as [string, string];
    await flushes('mig', [[ev('m1', 1, A)], [ev('m1', 3, A)], [ev('m1', 5, A)]]);
    // The table as an earlier release made it: no _absorbed_at, the version remembers t5 only.
    await w.pool.query('ALTER TABLE warehouse.dim_member DROP COLUMN _absorbed_at');
    const table = w.pipeline.tables.find((t) => t.name === 'dim_member')!;
    expect((await schemaProblems(w.pool, w.pipeline, table)).problems).toEqual([]);
    expect(await ensureTable(w.pool, w.pipeline, table)).toContain('added column dim_member._absorbed_at timestamptz[]');
    expect(await absorbed('m1')).toEqual([null]);
    const last = await w.pool.query(`SELECT _last_event_at FROM warehouse.dim_member WHERE id = 'm1'`);
    expect(ms(last.rows[0]._last_event_at)).toBe(ms(at(5)));
    // A late B at t2: the old row knows t5 only, so A resumes there (as before this column).
    await flushes('mig-late', [[ev('m1', 2, ['bob', 'gold'])]]);
    expect(await timeline('m1')).toEqual([
      ['ann/gold', 1, 2],
      ['bob/gold', 2, 5],
      ['ann/gold', 5, Infinity],
    ]);
    // An array that does not end at _last_event_at (a loader from before the column rewrote the
    // row) is not trusted: the row resumes at _last_event_at alone.
    await w.pool.query(
      `UPDATE warehouse.dim_member SET _absorbed_at = ARRAY['${at(2.5)}'::timestamptz] WHERE id = 'm1' AND valid_from = '${at(1)}'`,
    );
    await w.pool.query(`UPDATE warehouse.dim_member SET _last_event_at = '${at(1.5)}' WHERE id = 'm1' AND valid_from = '${at(1)}'`);
    await flushes('mig-stale', [[ev('m1', 1.2, ['dan', 'gold'])]]);
    expect(await timeline('m1')).toEqual([
      ['ann/gold', 1, 1.2],
      ['dan/gold', 1.2, 1.5],
      ['ann/gold', 1.5, 2],
      ['bob/gold', 2, 5],
      ['ann/gold', 5, Infinity],
    ]);
    // Rewritten rows carry the new column from then on.
    await flushes('mig-more', [[ev('m1', 7, A)], [ev('m1', 6, ['cy', 'gold'])]]);
    expect(await timeline('m1')).toEqual([
      ['ann/gold', 1, 1.2],
      ['dan/gold', 1.2, 1.5],
      ['ann/gold', 1.5, 2],
      ['bob/gold', 2, 5],
      ['ann/gold', 5, 6],
      ['cy/gold', 6, 7],
      ['ann/gold', 7, Infinity],
    ]);
  });
});

describe('scd2 with a large flush', () => {
  it('loads 30,000 members in one transaction, holding a bounded number of locks', async () => {
    const records = Array.from({ length: 30_000 }, (_, i) => ({ id: `bulk-${i}`, name: `n${i}`, tier: 'gold', changed_at: at(i % 1000) }));
    const items = Array.from({ length: 30 }, (_, m) => message(`bulk-${m}`, 'members', records.slice(m * 1000, (m + 1) * 1000)));
    // One lock per member took 30,000 locks: "out of shared memory" with the default lock table.
    await load(w, items);
    const r = await w.pool.query(`SELECT count(*)::int AS n FROM warehouse.dim_member WHERE id LIKE 'bulk-%' AND is_current`);
    expect(r.rows[0].n).toBe(30_000);
  });
});

describe('scd2 without an event-time field', () => {
  beforeEach(reset);

  it('versions by load time: a change closes the current row, an unchanged record writes nothing', async () => {
    await load(w, [message('a1', 'members_now', [{ id: 'x', name: 'ann', tier: 'gold', note: 'n1' }])]);
    await load(w, [message('a2', 'members_now', [{ id: 'x', name: 'ann', tier: 'gold', note: 'n1' }])]);
    const before = await w.pool.query('SELECT member_sk, _loaded_at FROM warehouse.dim_member_now');
    expect(before.rows).toHaveLength(1);
    await load(w, [message('a3', 'members_now', [{ id: 'x', name: 'ann', tier: 'silver', note: 'n1' }])]);
    const rows = (await w.pool.query('SELECT member_sk, tier, is_current, valid_to FROM warehouse.dim_member_now ORDER BY valid_from'))
      .rows;
    expect(rows.map((r) => [r.tier, r.is_current])).toEqual([
      ['gold', false],
      ['silver', true],
    ]);
    expect(rows[0].member_sk).toBe(before.rows[0].member_sk);
    expect(rows[1].member_sk).not.toBe(rows[0].member_sk);
    expect(ms(rows[0].valid_to)).toBeLessThan(Infinity);
    const ledger = (
      await w.pool.query(
        `SELECT msg_id, written, inserted, unchanged, skipped FROM tributary.load_ledger WHERE table_name = 'dim_member_now' ORDER BY msg_id`,
      )
    ).rows;
    expect(ledger).toEqual([
      { msg_id: 'a1', written: 1, inserted: 1, unchanged: 0, skipped: 0 },
      { msg_id: 'a2', written: 0, inserted: 0, unchanged: 1, skipped: 0 },
      { msg_id: 'a3', written: 1, inserted: 1, unchanged: 0, skipped: 0 },
    ]);
  });

  it('compares tracked columns NULL-safely: NULL to NULL is no change, NULL to a value is one', async () => {
    await load(w, [message('b1', 'members_now', [{ id: 'y', name: null, tier: 'gold' }])]);
    await load(w, [message('b2', 'members_now', [{ id: 'y', name: null, tier: 'gold' }])]);
    await load(w, [message('b3', 'members_now', [{ id: 'y', name: 'bob', tier: 'gold' }])]);
    const rows = (await w.pool.query('SELECT name, is_current FROM warehouse.dim_member_now ORDER BY valid_from')).rows;
    expect(rows).toEqual([
      { name: null, is_current: false },
      { name: 'bob', is_current: true },
    ]);
  });

  it('keeps the last record in stream order when a flush carries several for one member', async () => {
    await load(w, [
      message('c1', 'members_now', [
        { id: 'z', name: 'a', tier: 'gold' },
        { id: 'z', name: 'b', tier: 'gold' },
      ]),
      message('c2', 'members_now', [{ id: 'z', name: 'c', tier: 'gold' }]),
    ]);
    const rows = (await w.pool.query('SELECT name, is_current FROM warehouse.dim_member_now')).rows;
    expect(rows).toEqual([{ name: 'c', is_current: true }]);
  });

  it('refuses a second current row per member in the database itself (partial unique index)', async () => {
    await load(w, [message('d1', 'members_now', [{ id: 'q', name: 'a', tier: 'gold' }])]);
    await expect(
      w.pool.query(
        `INSERT INTO warehouse.dim_member_now (id, valid_from, is_current, _msg_id) VALUES ('q', now() + interval '1 day', true, 'manual')`,
      ),
    ).rejects.toMatchObject({ code: '23505' });
  });
});

/**
 * The backbone's promises, end to end against real NATS and PostgreSQL with every service as its
 * own process: exact counts, idempotent pushes, and the counting invariant of docs/design.md after
 * SIGKILLs of the loader and transformer and a restart of NATS.
 */
import { waitFor } from '@tributary/testkit';
import { expected, isFiltered, isInvalid, ndjson } from './passages';
import { Stack } from './stack';

const BATCH = 5_000;
jest.setTimeout(600_000);

/** Pushes records [from, to) in batches, `parallel` requests at a time, retrying 503s with the same key. */
async function pushRange(stack: Stack, from: number, to: number, parallel = 4, keyPrefix = 'k'): Promise<void> {
  const starts: number[] = [];
  for (let s = from; s < to; s += BATCH) starts.push(s);
  const worker = async (): Promise<void> => {
    for (let s = starts.shift(); s !== undefined; s = starts.shift()) {
      const n = Math.min(BATCH, to - s);
      for (let attempt = 0; ; attempt++) {
        const r = await stack
          .push('gantry', ndjson(s, n), { 'idempotency-key': `${keyPrefix}-${s}` })
          .catch((err: Error) => ({ status: 0, json: err.message, headers: new Headers() }));
        if (r.status === 202) break;
        // 503 while NATS restarts, or connection refused: retry with the same key (no duplicates).
        if (attempt > 120) throw new Error(`push of ${s} kept failing: ${r.status} ${JSON.stringify(r.json)}`);
        await new Promise((res) => setTimeout(res, 500));
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** Waits until the monitor says every accepted record is accounted for and nothing is pending. */
async function settled(stack: Stack, minAccepted = 0): Promise<any> {
  return waitFor(
    async () => {
      const s = await stack.status().catch(() => undefined);
      if (!s) return undefined;
      const lagZero =
        s.lag?.transformer?.pending === 0 &&
        s.lag?.transformer?.ack_pending === 0 &&
        s.lag?.loader?.pending === 0 &&
        s.lag?.loader?.ack_pending === 0;
      const monitorCaughtUp = Object.values(s.monitor_lag ?? {}).every((v: any) => v.pending === 0 && v.ack_pending === 0);
      const accounted = s.accepted === s.tables.fact_passage.loaded + s.filtered + s.dead_lettered.transform + s.dead_lettered.load;
      return lagZero && monitorCaughtUp && accounted && s.accepted >= minAccepted ? s : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 500, what: 'pipeline to settle (all accepted records loaded, filtered or dead-lettered)' },
  );
}

describe('traffic pipeline end to end', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
  }, 120_000);

  afterAll(async () => {
    await stack?.stopAll();
  });

  it('lands exactly the valid, unfiltered records of 100,000 pushed, dead-letters exactly the invalid ones, and the monitor agrees', async () => {
    const N = 100_000;
    const exp = expected(N);
    await pushRange(stack, 0, N);
    const s = await settled(stack, N - exp.invalid);

    const [{ rows, distinct }] = await stack.query(
      'SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS distinct FROM warehouse.fact_passage',
    );
    expect(rows).toBe(exp.loaded);
    expect(distinct).toBe(exp.loaded);
    const present = await stack.query<{ event_id: string }>('SELECT event_id FROM warehouse.fact_passage');
    const ids = new Set(present.map((r) => Number(r.event_id.slice(2))));
    for (let i = 0; i < N; i++) expect(ids.has(i)).toBe(!isInvalid(i) && !isFiltered(i));

    // Exactly the invalid records are dead-lettered, each with its index and reason.
    const dead: any[] = [];
    for (let before = ''; ;) {
      const page = await fetch(`${stack.url('monitor')}/api/dlq?pipeline=traffic&stage=ingest&limit=1000${before}`).then(
        (r) => r.json() as Promise<any>,
      );
      dead.push(...page.dead_letters);
      if (page.dead_letters.length < 1000) break;
      before = `&before=${page.dead_letters.at(-1).seq}`;
    }
    expect(dead).toHaveLength(exp.invalid);
    const deadIds = new Set(dead.map((d) => (d.record as { event_id: string }).event_id));
    for (let i = 0; i < N; i++) if (isInvalid(i)) expect(deadIds.has(`e-${i}`)).toBe(true);
    expect(dead[0].error.message).toMatch(/lane/);
    expect(dead[0].error.location).toMatchObject({ field: 'lane' });

    // The monitor's durable counts agree with the warehouse and the DLQ.
    expect(s.received).toBe(N);
    expect(s.accepted).toBe(N - exp.invalid);
    expect(s.rejected).toBe(exp.invalid);
    expect(s.filtered).toBe(exp.filtered);
    expect(s.tables.fact_passage.loaded).toBe(exp.loaded);
    expect(s.dead_lettered.transform + s.dead_lettered.load).toBe(0);
    expect(s.freshness_seconds).toBe(0);
  });

  it('lands a batch pushed twice with one Idempotency-Key once, and answers the repeat with the first reply', async () => {
    const before = (await stack.query('SELECT count(*)::int AS n FROM warehouse.fact_passage'))[0]!.n as number;
    const acceptedBefore = (await settled(stack)).accepted as number;
    const body = ndjson(200_000, 1_000);
    const first = await stack.push('gantry', body, { 'idempotency-key': 'same-key' });
    const second = await stack.push('gantry', body, { 'idempotency-key': 'same-key' });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.json).toEqual(first.json);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    // The same key with another body is a client bug, refused rather than hidden.
    const other = await stack.push('gantry', ndjson(300_000, 10), { 'idempotency-key': 'same-key' });
    expect(other.status).toBe(422);

    await settled(stack, acceptedBefore + first.json.accepted);
    const after = (await stack.query('SELECT count(*)::int AS n FROM warehouse.fact_passage'))[0]!.n as number;
    let fresh = 0;
    for (let i = 200_000; i < 201_000; i++) if (!isInvalid(i) && !isFiltered(i)) fresh++;
    expect(after - before).toBe(fresh);
    expect(first.json.accepted + first.json.rejected).toBe(1_000);
  });

  it('keeps the counting invariant with no duplicates through SIGKILL of the loader and the transformer and a NATS restart, and the monitor restarts to the same counts', async () => {
    const FROM = 1_000_000;
    const N = 60_000;
    const load = pushRange(stack, FROM, FROM + N, 2, 'chaos');

    await waitFor(
      async () =>
        (await stack.query('SELECT count(*)::int AS n FROM warehouse.fact_passage WHERE event_id ~ $1', ['^e-1[0-9]{6}$']))[0]!.n > 2_000
          ? true
          : undefined,
      { timeoutMs: 60_000, what: 'loading under way' },
    );
    await stack.kill('loader');
    await new Promise((r) => setTimeout(r, 500));
    await stack.startService('loader');

    await stack.kill('transformer');
    await new Promise((r) => setTimeout(r, 500));
    await stack.startService('transformer');

    await stack.nats.stop();
    await new Promise((r) => setTimeout(r, 1_000));
    await stack.nats.restart();

    await load;
    const s = await settled(stack);

    let exp = 0;
    for (let i = FROM; i < FROM + N; i++) if (!isInvalid(i) && !isFiltered(i)) exp++;
    const [{ rows, distinct }] = await stack.query(
      `SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS distinct FROM warehouse.fact_passage
       WHERE event_id ~ '^e-[0-9]+$' AND substring(event_id from 3)::int BETWEEN $1 AND $2`,
      [FROM, FROM + N - 1],
    );
    expect(distinct).toBe(rows);
    expect(rows).toBe(exp);
    const [{ total, uniq }] = await stack.query(
      'SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS uniq FROM warehouse.fact_passage',
    );
    expect(uniq).toBe(total);
    expect(s.accepted).toBe(s.tables.fact_passage.loaded + s.filtered + s.dead_lettered.transform + s.dead_lettered.load);
    expect(s.tables.fact_passage.loaded).toBe(total);

    await stack.stop('monitor');
    await stack.startService('monitor');
    const again = await settled(stack);
    for (const k of ['received', 'accepted', 'rejected', 'filtered'] as const) expect(again[k]).toBe(s[k]);
    expect(again.tables).toEqual(s.tables);
    expect(again.dead_lettered).toEqual(s.dead_lettered);
  });
});

/**
 * Chaos: under steady load from a push client and the generator, kill, pause and restart every
 * part at random moments (SIGKILL of each service and of two at once, SIGSTOP past the ack wait,
 * NATS restart, PostgreSQL crash), then check the counting invariant of DESIGN.md §4 and that
 * exactly the pushed records landed once. `npm run chaos` runs it for 10 minutes; the slow suite
 * for one. The report lists every fault injected and every check made.
 */
import path from 'node:path';
import { waitFor } from '@tributary/testkit';
import { isFiltered, isInvalid, ndjson } from '../e2e/passages';
import { Stack, type ServiceName } from '../e2e/stack';

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 60);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000);
jest.setTimeout((SECONDS + 600) * 1000);

/** A small deterministic PRNG, so a failing run can be repeated with CHAOS_SEED. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('chaos', () => {
  let stack: Stack;
  const report: string[] = [];
  const log = (line: string): void => {
    report.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
  };

  beforeAll(async () => {
    stack = await Stack.start({
      pipelines: path.resolve(__dirname, '../../pipelines/traffic.yaml'),
      env: { INGEST_GENERATORS: 'true', TRIBUTARY_ACK_WAIT: '3s', LOG_LEVEL: 'warn' },
    });
  }, 180_000);

  afterAll(async () => {
    for (const [name, p] of stack?.procs ?? []) report.push(`--- ${name} log tail ---\n${p.logTail(15)}`);
    process.stdout.write(`\nchaos report (seed ${SEED}, ${SECONDS} s):\n${report.map((l) => `  ${l}`).join('\n')}\n`);
    await stack?.stopAll();
  });

  it(`keeps every acknowledged record exactly once through ${SECONDS} s of faults`, async () => {
    const random = rng(SEED);
    let stop = false;
    let pushed = 0;
    const BATCH = 500;
    // The client retries with the same Idempotency-Key until it gets 202, as the API docs say.
    const pusher = (async () => {
      for (let s = 5_000_000; !stop; s += BATCH) {
        for (;;) {
          const r = await stack.push('gantry', ndjson(s, BATCH), { 'idempotency-key': `chaos-${s}` }).catch(() => undefined);
          if (r?.status === 202) break;
          await new Promise((res) => setTimeout(res, 200));
        }
        pushed = s + BATCH - 5_000_000;
        await new Promise((res) => setTimeout(res, 20));
      }
    })();

    const services: ServiceName[] = ['ingest-api', 'transformer', 'loader', 'monitor'];
    const faults = [
      async () => {
        const s = services[Math.floor(random() * services.length)]!;
        log(`SIGKILL ${s}`);
        await stack.kill(s);
        await stack.startService(s);
      },
      async () => {
        const a = services[Math.floor(random() * services.length)]!;
        const b = services.filter((x) => x !== a)[Math.floor(random() * 3)]!;
        log(`SIGKILL ${a} and ${b} at once`);
        await Promise.all([stack.kill(a), stack.kill(b)]);
        await stack.startService(a);
        await stack.startService(b);
      },
      async () => {
        log('restart NATS');
        await stack.nats.stop();
        await new Promise((r) => setTimeout(r, 500 + random() * 1500));
        await stack.nats.restart();
      },
      async () => {
        log('crash PostgreSQL (SIGKILL) and restart it');
        await stack.pg.kill();
        await new Promise((r) => setTimeout(r, 500 + random() * 1500));
        await stack.pg.restart();
      },
      async () => {
        const s: ServiceName = random() < 0.5 ? 'transformer' : 'loader';
        log(`SIGSTOP ${s} for 5 s (ack wait 3 s), then SIGCONT`);
        stack.procs.get(s)!.kill('SIGSTOP');
        await new Promise((r) => setTimeout(r, 5_000));
        stack.procs.get(s)!.kill('SIGCONT');
      },
    ];
    const end = Date.now() + SECONDS * 1000;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 2_000 + random() * 4_000));
      await faults[Math.floor(random() * faults.length)]!();
    }
    stop = true;
    await pusher;
    // Stop the generator so the counts can settle.
    await stack.stop('ingest-api');
    await stack.startService('ingest-api', { INGEST_GENERATORS: 'false' });
    log(`load stopped: ${pushed} records pushed by the client, generator stopped`);

    let last: unknown = 'no answer from the monitor';
    const s = await waitFor(
      async () => {
        const st = await stack.status().catch((err: Error) => {
          last = `monitor: ${err.message}`;
          return undefined;
        });
        if (!st) return undefined;
        last = { lag: st.lag, monitor_lag: st.monitor_lag, accepted: st.accepted, loaded: st.tables?.fact_passage?.loaded };
        const lagZero = ['transformer', 'loader'].every((k) => st.lag?.[k]?.pending === 0 && st.lag?.[k]?.ack_pending === 0);
        const caughtUp = Object.values(st.monitor_lag ?? {}).every((v: any) => v.pending === 0 && v.ack_pending === 0);
        return lagZero && caughtUp ? st : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 1_000, what: 'pipeline to drain after the faults' },
    ).catch((err: Error) => {
      log(`did not drain; last status: ${JSON.stringify(last)}`);
      throw err;
    });

    const lhs = s.accepted;
    const rhs = s.tables.fact_passage.loaded + s.filtered + s.dead_lettered.transform + s.dead_lettered.load;
    log(
      `invariant: accepted ${lhs} = loaded ${s.tables.fact_passage.loaded} + filtered ${s.filtered} + dead-lettered ${s.dead_lettered.transform + s.dead_lettered.load}`,
    );
    expect(lhs).toBe(rhs);

    const [{ total, uniq }] = await stack.query(
      'SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS uniq FROM warehouse.fact_passage',
    );
    log(`no duplicates: ${total} rows, ${uniq} distinct event ids`);
    expect(uniq).toBe(total);
    expect(total).toBe(s.tables.fact_passage.loaded);

    let expected = 0;
    for (let i = 5_000_000; i < 5_000_000 + pushed; i++) if (!isInvalid(i) && !isFiltered(i)) expected++;
    const [{ mine }] = await stack.query(`SELECT count(*)::int AS mine FROM warehouse.fact_passage WHERE event_id ~ '^e-5[0-9]{6}$'`);
    log(`client records: ${mine} landed of ${expected} expected (valid, unfiltered)`);
    expect(mine).toBe(expected);
  });
});

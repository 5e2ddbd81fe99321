/**
 * Chaos: under steady load from a push client, the generator, change data capture of a busy
 * operational database and a paged REST API at once, inject faults at random moments: SIGKILL of
 * each service and of two at once, SIGSTOP past the ack wait, NATS restart, crashes of the
 * warehouse and of the CDC source database, the warehouse refusing every connection for a while,
 * TRIB_RAW run into its storage limit, REST responses cut mid-page. Every fault class runs once in
 * a random order, then random ones until CHAOS_SECONDS have passed. Afterwards: the counting
 * invariant of docs/design.md per pipeline, dataset and table; the pushed records, the source
 * database's state and the API's items exactly once in the warehouse; the replication slot
 * confirmed past the last write; the client only ever answered 202 or 503/429 with Retry-After;
 * alerts fired and all resolved. The report lists every fault injected and every check made.
 *
 * `npm run chaos` runs it for 10 minutes; the slow suite (CI) for one. Repeat a run with CHAOS_SEED.
 */
import { stopAll } from '@tributary/testkit';
import { ChaosReport } from './chaos/chaos-report';
import { checkAfterLoad, checkAlerts } from './chaos/chaos-checks';
import { ChaosStack } from './chaos/chaos-stack';
import { faultClasses, type FaultClass } from './chaos/faults';
import { rng } from './chaos/rng';
import { SteadyLoad } from './chaos/steady-load';

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 60);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000);
/** How long the warehouse refuses connections: a minute in the ten-minute run, 10 s in the one-minute run. */
const OUTAGE_MS = Math.min(60_000, Math.max(10_000, SECONDS * 100));
jest.setTimeout((SECONDS + 900) * 1000);
afterAll(stopAll);

describe('chaos', () => {
  let sys: ChaosStack;
  const report = new ChaosReport(`chaos report (seed ${SEED}, ${SECONDS} s of faults, warehouse refusal ${OUTAGE_MS / 1000} s)`);

  beforeAll(async () => {
    sys = await ChaosStack.start({ TRIBUTARY_ACK_WAIT: '3s' });
  }, 300_000);

  afterAll(async () => {
    process.stdout.write(`\n${report.toString()}\n${sys?.logTails() ?? ''}\n`);
    await sys?.stopAll();
  });

  it(`keeps every acknowledged record exactly once through ${SECONDS} s of faults`, async () => {
    const random = rng(SEED);
    const load = new SteadyLoad(sys.stack, sys.bank, sys.api, { pushRate: Number(process.env.CHAOS_PUSH_RATE ?? 2000) });
    load.start(rng(SEED + 1));
    report.note(
      `load started: push client ${process.env.CHAOS_PUSH_RATE ?? 2000} records/s, generator 200/s, bank writer, REST items 20/s`,
    );

    const classes = faultClasses(sys, load, random, OUTAGE_MS);
    // Every class once, in a random order; then random classes until the time is up.
    const deck: FaultClass[] = classes
      .map((c) => ({ c, k: random() }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.c);
    const end = Date.now() + SECONDS * 1000;
    while (deck.length > 0 || Date.now() < end) {
      await new Promise((r) => setTimeout(r, 2_000 + random() * 4_000));
      const f = deck.shift() ?? classes[Math.floor(random() * classes.length)]!;
      await report.fault(f.kind, '', f.inject).catch((err: Error) => report.check(`fault ${f.kind} injected`, false, err.message));
    }

    await load.stop();
    await checkAfterLoad(sys, report, load);
    // The DLQ-growth rule resolves a window (20 s) after the monitor's dead-letter fold has caught
    // up, which can take a while after the outages on two loaded cores.
    await checkAlerts(sys, report, 180_000);
    const kinds = new Set(report.faults.map((f) => f.kind));
    report.check(
      'every fault class injected',
      classes.every((c) => kinds.has(c.kind)),
      `${kinds.size} of ${classes.length} classes`,
    );

    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  });
});

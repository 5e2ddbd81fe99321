/**
 * Soak: the chaos run's steady load on every source kind (push client, generator, CDC, REST) for
 * SOAK_SECONDS (an hour by default, `npm run soak`) without faults, sampling each service's
 * resident memory (/proc) and V8 heap in use (/metrics) every SOAK_SAMPLE_SECONDS. The report
 * gives per service start, peak and end, and the growth slope over the second half of the run
 * (least squares, MiB/hour; the first half is warm-up). Judged on runs whose second half lasts at
 * least 20 minutes: a service fails when its heap grows faster than SOAK_MAX_HEAP_GROWTH_MIB_H
 * (16 by default: the chart gives each service a 512 MiB limit and they run at 100 to 200 MiB,
 * so 16 MiB/h would eat the headroom within a day) or its RSS faster than
 * SOAK_MAX_RSS_GROWTH_MIB_H (32: RSS also moves in allocator steps that are not leaks). Shorter
 * runs (a smoke test of the soak itself) only fail on more than 64 MiB grown within the second
 * half: over a few minutes the heap's sawtooth and the allocator's steps extrapolate to hourly
 * slopes of ±100 MiB/h that mean nothing (measured: see docs/RELIABILITY.md). The
 * data checks of the chaos run (invariant, exactly once per source) run at the end as well.
 *
 * Not part of `npm run test:slow` unless SOAK_SECONDS is set (jest.slow.config.js).
 */
import { stopAll } from '@tributary/testkit';
import { ChaosReport } from './chaos/chaos-report';
import { checkAfterLoad } from './chaos/chaos-checks';
import { ChaosStack } from './chaos/chaos-stack';
import { MemorySampler, type MemorySummary } from './chaos/memory-sampler';
import { rng } from './chaos/rng';
import { SteadyLoad } from './chaos/steady-load';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 3600);
const SAMPLE_MS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 5) * 1000;
const MAX_HEAP_SLOPE = Number(process.env.SOAK_MAX_HEAP_GROWTH_MIB_H ?? 16);
const MAX_RSS_SLOPE = Number(process.env.SOAK_MAX_RSS_GROWTH_MIB_H ?? 32);
const PUSH_RATE = Number(process.env.SOAK_PUSH_RATE ?? 1000);
/** Slopes are judged when the second half lasts this long; shorter runs use the absolute bound. */
const SLOPE_JUDGED_FROM_S = 2 * 20 * 60;
const SHORT_RUN_MAX_GROWTH_MIB = 64;
jest.setTimeout((SECONDS + 900) * 1000);
afterAll(stopAll);

const f1 = (n: number): string => n.toFixed(1);

/** Whether a service's memory held, and the line that says so. */
function judge(m: MemorySummary): { ok: boolean; detail: string } {
  const line = (name: string, x: MemorySummary['rss']) =>
    `${name} start ${f1(x.start)} peak ${f1(x.peak)} end ${f1(x.end)} MiB, ${x.slope >= 0 ? '+' : ''}${f1(x.slope)} MiB/h`;
  const detail = `${m.samples} samples; ${line('RSS', m.rss)}; ${line('heap', m.heap)}`;
  if (SECONDS >= SLOPE_JUDGED_FROM_S) {
    return {
      ok: m.samples > 10 && m.heap.slope <= MAX_HEAP_SLOPE && m.rss.slope <= MAX_RSS_SLOPE,
      detail: `${detail} (limits: heap ${MAX_HEAP_SLOPE}, RSS ${MAX_RSS_SLOPE} MiB/h)`,
    };
  }
  // Growth within the second half, as the slope extrapolates it over that half.
  const halfHours = SECONDS / 2 / 3600;
  const grown = Math.max(m.rss.slope, m.heap.slope) * halfHours;
  return {
    ok: m.samples > 10 && grown <= SHORT_RUN_MAX_GROWTH_MIB,
    detail: `${detail} (short run: ${f1(grown)} MiB grown in the second half, limit ${SHORT_RUN_MAX_GROWTH_MIB} MiB)`,
  };
}

describe('soak', () => {
  let sys: ChaosStack;
  const report = new ChaosReport(`soak report (${SECONDS} s of steady load, a sample every ${SAMPLE_MS / 1000} s)`);

  beforeAll(async () => {
    sys = await ChaosStack.start();
  }, 300_000);

  afterAll(async () => {
    process.stdout.write(`\n${report.toString()}\n${sys?.logTails() ?? ''}\n`);
    await sys?.stopAll();
  });

  it(`keeps each service's memory flat through ${SECONDS} s of steady load`, async () => {
    const load = new SteadyLoad(sys.stack, sys.bank, sys.api, { pushRate: PUSH_RATE, bankPauseMs: 25, itemsPerSecond: 10 });
    const sampler = new MemorySampler(sys.stack, ['ingest-api', 'transformer', 'loader', 'monitor'], SAMPLE_MS);
    load.start(rng(7));
    sampler.start();
    report.note(`load started: push client ${PUSH_RATE} records/s, generator 200/s, bank writer, REST items 10/s`);
    const end = Date.now() + SECONDS * 1000;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(600_000, end - Date.now())));
      if (Date.now() < end)
        report.note(`${load.push.pushed} records pushed, ${sys.bank.committed} bank transactions, ${sys.api.items.length} items`);
    }
    await sampler.stop();
    await load.stop();
    for (const m of sampler.summary()) {
      const { ok, detail } = judge(m);
      report.check(`memory ${m.service}`, ok, detail);
    }

    await checkAfterLoad(sys, report, load);

    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  });
});

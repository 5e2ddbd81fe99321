/**
 * Memory of each service over a soak run: resident set size from /proc/<pid>/status (what the
 * kernel, and a container's memory limit, count) and V8 heap in use from the service's own
 * `/metrics` (`tributary_nodejs_heap_size_used_bytes`: what a JavaScript leak grows), sampled
 * every few seconds. The summary per service gives start, peak and end, and the growth slope in
 * MiB/hour by least squares over the second half of the run, after warm-up (JIT, pools, caches
 * and buffers reach their working size in the first minutes).
 */
import { rssMiB } from '../../../bench/src/proc-stats';
import type { ServiceName, Stack } from '../../e2e/stack';

/** One sample of one service. */
interface Sample {
  at: number;
  rss: number;
  heap: number;
}

/** The figures of one service. */
export interface MemorySummary {
  service: ServiceName;
  samples: number;
  rss: { start: number; peak: number; end: number; slope: number };
  heap: { start: number; peak: number; end: number; slope: number };
}

const MIB = 1024 * 1024;

/** Least-squares slope of (hours, MiB) points, in MiB per hour (0 with fewer than two points). */
export function slopePerHour(points: { at: number; v: number }[]): number {
  if (points.length < 2) return 0;
  const xs = points.map((p) => p.at / 3_600_000);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = points.reduce((a, p) => a + p.v, 0) / points.length;
  let num = 0;
  let den = 0;
  points.forEach((p, i) => {
    num += (xs[i]! - mx) * (p.v - my);
    den += (xs[i]! - mx) ** 2;
  });
  return den === 0 ? 0 : num / den;
}

/** V8 heap in use, in MiB, from a service's /metrics (NaN when it does not answer). */
async function heapMiB(url: string): Promise<number> {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const m = /^tributary_nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([0-9.e+]+)$/m.exec(text);
    return m ? Number(m[1]) / MIB : NaN;
  } catch {
    return NaN;
  }
}

/** Samples every service of a stack until stopped. */
export class MemorySampler {
  private readonly samples = new Map<ServiceName, Sample[]>();
  private timer?: NodeJS.Timeout;
  private busy?: Promise<void>;

  constructor(
    private readonly stack: Stack,
    private readonly services: ServiceName[],
    private readonly everyMs: number,
  ) {}

  /** Takes a sample now and then every `everyMs`. */
  start(): void {
    const tick = (): void => {
      this.busy ??= this.sample().finally(() => (this.busy = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.everyMs);
  }

  /** Stops sampling (after the sample in hand). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
  }

  private async sample(): Promise<void> {
    await Promise.all(
      this.services.map(async (s) => {
        const proc = this.stack.procs.get(s);
        if (!proc) return;
        const heap = await heapMiB(this.stack.url(s));
        let rss = NaN;
        try {
          rss = rssMiB(proc.pid);
        } catch {
          // The process is gone: the sample is skipped.
        }
        if (!Number.isFinite(rss) || !Number.isFinite(heap)) return;
        const list = this.samples.get(s) ?? [];
        list.push({ at: Date.now(), rss, heap });
        this.samples.set(s, list);
      }),
    );
  }

  /** Start, peak, end and second-half slope per service. */
  summary(): MemorySummary[] {
    return this.services.map((service) => {
      const list = this.samples.get(service) ?? [];
      const mid = list.length > 0 ? (list[0]!.at + list.at(-1)!.at) / 2 : 0;
      const second = list.filter((x) => x.at >= mid);
      const figures = (pick: (x: Sample) => number) => ({
        start: list.length ? pick(list[0]!) : NaN,
        peak: list.length ? Math.max(...list.map(pick)) : NaN,
        end: list.length ? pick(list.at(-1)!) : NaN,
        slope: slopePerHour(second.map((x) => ({ at: x.at, v: pick(x) }))),
      });
      return { service, samples: list.length, rss: figures((x) => x.rss), heap: figures((x) => x.heap) };
    });
  }
}

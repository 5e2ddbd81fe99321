/**
 * The pull-source scheduler against a real NATS: two replicas contending for one source's lease
 * (only one runs it; it moves when the holder dies or stops), failed runs retried with the same
 * scheduledAt, cron schedules, compare-and-set cursors, and the request budget shared by replicas.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pipeline } from '@tributary/contract/spec';
import { stopAll, waitFor } from '@tributary/testkit';
import { Registry } from 'prom-client';
import { KvCursorStore } from '../src/scheduling/cursor-store';
import { KvRequestBudget } from '../src/scheduling/request-budget';
import { SourceRunner } from '../src/scheduling/source-runner';
import type { PullContext, PullSchedule, PullSource } from '../src/sources/pull-source';
import { PullHarness } from './pull-harness';

afterAll(stopAll);

/** Records every run, by replica, and how many ran at once. */
class Probe {
  readonly runs: { replica: string; scheduledAt: number }[] = [];
  active = 0;
  maxActive = 0;
  failFirst = 0;

  source(replica: string): PullSource {
    return {
      run: async (ctx: PullContext) => {
        this.active++;
        this.maxActive = Math.max(this.maxActive, this.active);
        try {
          this.runs.push({ replica, scheduledAt: ctx.scheduledAt });
          // Publishing proves the context works end to end; the position makes each run's ID unique.
          await ctx.publish([{ replica }], `${ctx.scheduledAt}:${replica}`);
          if (this.failFirst > 0) {
            this.failFirst--;
            throw new Error('probe failure');
          }
        } finally {
          this.active--;
        }
      },
    };
  }

  count(replica: string): number {
    return this.runs.filter((r) => r.replica === replica).length;
  }
}

describe('pull-source scheduler', () => {
  let h: PullHarness;
  const conns: NatsConnection[] = [];
  const handles: { stop(): Promise<void> }[] = [];
  let n = 0;

  beforeAll(async () => {
    h = await PullHarness.start();
  });
  afterAll(async () => {
    await Promise.all(handles.map((x) => x.stop()));
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await h.close();
  });

  /** A replica: its own NATS connection and runner. */
  async function replica(name: string, leaseTtlMs: number) {
    const nc = await h.connect();
    conns.push(nc);
    const deps = await h.deps(nc);
    const runner = new SourceRunner({
      ...deps,
      logger: h.logger,
      registry: new Registry(),
      leaseTtlMs,
      retry: { initialMs: 20, maxMs: 50 },
      holder: name,
    });
    const add: SourceRunner['add'] = (o) => {
      const handle = runner.add(o);
      handles.push(handle);
      return handle;
    };
    return { nc, runner: { add } };
  }

  function pipeline(): Pipeline {
    return h.pipeline(`pipeline: sched_${++n}\nsources:\n  s: { kind: push }\ndatasets:\n  d: { from: s, fields: { x: string } }\n`);
  }

  async function contend(schedule: PullSchedule, leaseTtlMs: number) {
    const p = pipeline();
    const probe = new Probe();
    const a = await replica('a', leaseTtlMs);
    const b = await replica('b', leaseTtlMs);
    const ha = a.runner.add({ pipeline: p, name: 's', schedule, source: probe.source('a'), logger: h.logger });
    const hb = b.runner.add({ pipeline: p, name: 's', schedule, source: probe.source('b'), logger: h.logger });
    await Promise.all([ha.start(), hb.start()]);
    await waitFor(async () => probe.runs.length >= 3, { timeoutMs: 20_000, what: 'three runs' });
    const [holder, other] = probe.count('a') > 0 ? [a, b] : [b, a];
    const [hHolder, hOther] = holder === a ? [ha, hb] : [hb, ha];
    return { p, probe, holder, other, hHolder, hOther, holderName: holder === a ? 'a' : 'b', otherName: holder === a ? 'b' : 'a' };
  }

  it('runs a source on exactly one of two replicas; when the holder dies (stops renewing) the other takes over', async () => {
    const { probe, holder, hHolder, hOther, holderName, otherName } = await contend({ every: 50 }, 600);
    expect(probe.count(otherName)).toBe(0);
    // The holder's connection dies: it can neither renew nor release; the lease expires and moves.
    await holder.nc.close();
    await waitFor(async () => probe.count(otherName) >= 2, { timeoutMs: 20_000, what: 'two runs on the other replica' });
    expect(probe.maxActive).toBe(1);
    await hOther.stop();
    await hHolder.stop();
    expect(probe.count(holderName)).toBeGreaterThanOrEqual(3);
  });

  it('hands the lease over at once on a graceful stop (well before the lease would expire)', async () => {
    // A one-minute TTL: the other replica can only run within the test timeout if the lease was released.
    const { probe, hHolder, hOther, otherName } = await contend({ every: 50 }, 60_000);
    await hHolder.stop();
    await waitFor(async () => probe.count(otherName) >= 1, { timeoutMs: 20_000, what: 'a run on the other replica' });
    await hOther.stop();
    expect(probe.maxActive).toBe(1);
  });

  it('retries a failed run with backoff and the same scheduledAt, then moves to the next due time', async () => {
    const p = pipeline();
    const probe = new Probe();
    probe.failFirst = 2;
    const { runner } = await replica('solo', 600);
    const handle = runner.add({ pipeline: p, name: 's', schedule: { every: 3_600_000 }, source: probe.source('solo'), logger: h.logger });
    await handle.start();
    const state = await waitFor(
      async () => {
        const e = await h.cursors.get(`schedule.${p.name}.s`);
        return e?.json<{ last?: { outcome: string } }>().last?.outcome === 'ok' ? e.json() : undefined;
      },
      { timeoutMs: 20_000, what: 'a successful run' },
    );
    await handle.stop();
    expect(probe.runs.map((r) => r.scheduledAt)).toEqual(Array(3).fill(probe.runs[0]!.scheduledAt));
    expect(state).toMatchObject({ due: probe.runs[0]!.scheduledAt + 3_600_000, failures: 0, last: { outcome: 'ok' } });
  });

  it('clears the failures of a continuous source once its new run reports itself healthy, while that run goes on', async () => {
    const p = pipeline();
    let attempts = 0;
    let streaming = false;
    const source: PullSource = {
      run: async (ctx: PullContext) => {
        if (++attempts <= 3) throw new Error(`connection refused (attempt ${attempts})`);
        // Streams until aborted, the way change data capture does, and says so after its first batch.
        await ctx.publish([{ attempt: attempts }], `stream:${attempts}`);
        ctx.healthy();
        streaming = true;
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      },
    };
    const { runner } = await replica('stream', 600);
    const handle = runner.add({ pipeline: p, name: 's', schedule: undefined, source, logger: h.logger });
    await handle.start();
    const read = async () =>
      (await h.cursors.get(`schedule.${p.name}.s`))?.json<{ failures: number; lastOkAt?: number; last?: { outcome: string } }>();
    await waitFor(async () => (await read())?.failures === 3 || streaming, { timeoutMs: 20_000, what: 'three failed runs' });
    const healed = await waitFor(
      async () => {
        const s = await read();
        return streaming && s?.failures === 0 ? s : undefined;
      },
      { timeoutMs: 20_000, what: 'failures reset by the streaming run' },
    );
    expect(healed).toMatchObject({ failures: 0, last: { outcome: 'ok' } });
    expect(healed!.lastOkAt).toBeGreaterThan(0);
    expect(attempts).toBe(4); // still the same run: healthy() did not end it
    await handle.stop();
  });

  it('runs a cron schedule at its fire times', async () => {
    const p = pipeline();
    const probe = new Probe();
    const { runner } = await replica('cron', 600);
    const handle = runner.add({
      pipeline: p,
      name: 's',
      schedule: { cron: '* * * * * *' },
      source: probe.source('cron'),
      logger: h.logger,
    });
    await handle.start();
    await waitFor(async () => probe.runs.length >= 2, { timeoutMs: 20_000, what: 'two cron runs' });
    await handle.stop();
    for (const r of probe.runs) expect(r.scheduledAt % 1000).toBe(0);
    expect(probe.runs[1]!.scheduledAt).toBeGreaterThan(probe.runs[0]!.scheduledAt);
  });

  it('refuses a cursor commit from a store that did not see the latest value (a replica that lost its lease)', async () => {
    const p = pipeline();
    const stale = new KvCursorStore(h.cursors, p.name, 's');
    const current = new KvCursorStore(h.cursors, p.name, 's');
    await stale.commit({ at: 1 });
    expect(await current.get()).toEqual({ at: 1 });
    await current.commit({ at: 2 });
    await expect(stale.commit({ at: 3 })).rejects.toMatchObject({ code: 'TRIB_E_UNAVAILABLE' });
    expect(await current.get()).toEqual({ at: 2 });
  });

  it('shares a sliding-window request budget between replicas: never more than the budget in any interval', async () => {
    const [x, y] = [await replica('bx', 600), await replica('by', 600)];
    const kx = (await h.deps(x.nc)).leases;
    const ky = (await h.deps(y.nc)).leases;
    const limit = { requests: 3, perMs: 250 };
    const bx = new KvRequestBudget(kx, `budget.shared_${++n}`);
    const by = new KvRequestBudget(ky, `budget.shared_${n}`);
    const granted = (await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? bx : by).take(limit))))
      .map((t) => t.grantedAt)
      .sort((a, b) => a - b);
    // Any 4 consecutive grants span at least the interval: a sliding window never holds more than 3.
    for (let i = 3; i < granted.length; i++) expect(granted[i]! - granted[i - 3]!).toBeGreaterThanOrEqual(250);
    expect(granted).toHaveLength(10);
  });

  it('holds every taker of a budget until the time the API asked for, and a margin keeps part of it back', async () => {
    const kv = (await h.deps()).leases;
    const b = new KvRequestBudget(kv, `budget.held_${++n}`);
    const until = Date.now() + 300;
    await b.block(until);
    expect((await b.take({ requests: 10, perMs: 1000 })).grantedAt).toBeGreaterThanOrEqual(until);
    const m = new KvRequestBudget(kv, `budget.margin_${++n}`);
    const limit = { requests: 5, perMs: 400, margin: 0.4 };
    const granted = [];
    for (let i = 0; i < 4; i++) granted.push((await m.take(limit)).grantedAt);
    // 5 less 40% is 3 per interval: the fourth waits for the first to leave it.
    expect(granted[3]! - granted[0]!).toBeGreaterThanOrEqual(400);
  });
});

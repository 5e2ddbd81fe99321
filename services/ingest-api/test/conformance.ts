/**
 * The conformance suite every pull source passes (rest, postgres_cdc, postgres_poll, file,
 * object_store), against a real NATS: it produces the origin's records, resumes from its cursor
 * after a restart, publishes no duplicate when a run dies between PubAck and cursor commit, and
 * stops when aborted. A source kind's test file calls `pullSourceConformance(name, setup)` with a
 * fixture that owns the origin (an API, a database, a folder). Runs use `PullHarness` (no scheduler).
 */
import type { Rec } from '@tributary/contract/codec';
import { stopAll } from '@tributary/testkit';
import type { CursorStore, PullContext, PullSource } from '../src/sources/pull-source';
import { PullHarness } from './pull-harness';

/** What the suite needs from a source kind's test. */
export interface PullSourceFixture {
  /** The pipeline (unique per fixture: cursors and subjects are per pipeline) and the source's name. */
  pipeline: import('@tributary/contract/spec').Pipeline;
  source: string;
  /** A fresh instance of the source, as after a restart of the ingest-api. */
  create(): PullSource;
  /** Makes `n` more records available at the origin (rows inserted, files dropped, items added). */
  add(n: number): Promise<void>;
  /** Identity of a published record, for the duplicate checks. */
  keyOf(record: Rec): string;
  /** Keys of every record the origin holds now: what complete runs must have delivered. */
  expectedKeys(): Promise<string[]>;
  /** Records per publish at most (the suite adds several times this, so a run publishes more than once). */
  batch: number;
  /** Releases what the fixture started. */
  close?(): Promise<void>;
}

/** A context whose publish and commit calls can be observed and sabotaged. */
function instrument(ctx: PullContext, hooks: { afterPublish?: () => void; beforeCommit?: () => void }): PullContext {
  const cursors: CursorStore = {
    get: (sub) => ctx.cursors.get(sub),
    commit: async (value, sub) => {
      hooks.beforeCommit?.();
      await ctx.cursors.commit(value, sub);
    },
  };
  return {
    ...ctx,
    cursors,
    publish: async (records, position) => {
      const r = await ctx.publish(records, position);
      hooks.afterPublish?.();
      return r;
    },
  };
}

/** Registers the suite for one source kind; `setup` builds a fresh fixture (own pipeline name) for each test. */
export function pullSourceConformance(name: string, setup: (h: PullHarness, id: string) => Promise<PullSourceFixture>): void {
  describe(`${name} pull-source conformance`, () => {
    let h: PullHarness;
    const fixtures: PullSourceFixture[] = [];
    let n = 0;

    beforeAll(async () => {
      h = await PullHarness.start();
    });
    afterAll(async () => {
      for (const f of fixtures) await f.close?.();
      await h.close();
      await stopAll();
    });

    async function fixture(): Promise<PullSourceFixture> {
      const f = await setup(h, `conf${++n}`);
      fixtures.push(f);
      return f;
    }
    const published = async (f: PullSourceFixture) => {
      const messages = await h.env.raw(f.pipeline.name, f.source);
      return { ids: messages.map((m) => m.msgId), keys: messages.flatMap((m) => m.records.map((r) => f.keyOf(r))) };
    };
    const run = async (f: PullSourceFixture, hooks: Parameters<typeof instrument>[1] = {}, signal?: AbortSignal) =>
      f.create().run(instrument(await h.context(f.pipeline, f.source, signal ? { signal } : {}), hooks));

    it('publishes every record of the origin, each once, under distinct message IDs', async () => {
      const f = await fixture();
      await f.add(f.batch * 2 + 1);
      await run(f);
      const { ids, keys } = await published(f);
      expect(new Set(ids).size).toBe(ids.length);
      expect(keys.sort()).toEqual((await f.expectedKeys()).sort());
    });

    it('resumes from its cursor after a restart: the next run publishes only what is new', async () => {
      const f = await fixture();
      await f.add(f.batch + 1);
      await run(f);
      const first = (await published(f)).keys.length;
      await f.add(f.batch + 2);
      await run(f);
      const { keys } = await published(f);
      expect(keys.length - first).toBe(f.batch + 2);
      expect(keys.sort()).toEqual((await f.expectedKeys()).sort());
    });

    it('publishes no duplicate when a run dies between PubAck and the cursor commit (the retry repeats the same IDs)', async () => {
      const f = await fixture();
      await f.add(f.batch * 3);
      let published1 = false;
      let crashed = false;
      const crash = run(f, {
        afterPublish: () => (published1 = true),
        beforeCommit: () => {
          if (published1 && !crashed) {
            crashed = true;
            throw new Error('simulated crash before the cursor commit');
          }
        },
      });
      await expect(crash).rejects.toThrow('simulated crash');
      await run(f);
      const { keys } = await published(f);
      expect(keys.sort()).toEqual((await f.expectedKeys()).sort());
    });

    it('stops when aborted and publishes nothing after the abort', async () => {
      const f = await fixture();
      await f.add(f.batch * 4);
      const ctl = new AbortController();
      let before = 0;
      const outcome = await run(
        f,
        {
          afterPublish: () => {
            if (!ctl.signal.aborted) ctl.abort(new Error('aborted by the test'));
          },
        },
        ctl.signal,
      ).then(
        () => 'resolved',
        () => 'rejected',
      );
      before = (await published(f)).keys.length;
      expect(['resolved', 'rejected']).toContain(outcome);
      expect(before).toBeGreaterThan(0);
      expect(before).toBeLessThan((await f.expectedKeys()).length);
      // A restart picks up the rest.
      await run(f);
      const { keys } = await published(f);
      expect(keys.sort()).toEqual((await f.expectedKeys()).sort());
    });
  });
}

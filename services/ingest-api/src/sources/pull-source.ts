/**
 * Turns a pull source (one `run(ctx)`; the contract and its rules in
 * `../scheduling/pull-contract.ts`) into the registry's ordinary `SourceFactory`, so `app.ts`
 * treats pull sources like any other kind. A source kind module exports `spec` and
 * `create = pullSource((config, deps) => ({ run }))`.
 */
import type { PullSchedule, PullSource } from '../scheduling/pull-contract';
import type { SourceDeps, SourceFactory, SourceHandle } from './source';
import type { z } from 'zod';

export type {
  CursorStore,
  PullContext,
  PullRunResult,
  PullSchedule,
  PullScheduler,
  PullSource,
  SourceIngestor,
} from '../scheduling/pull-contract';

/** Dependencies of a pull source factory: the ordinary source deps (no network touched yet). */
export type PullSourceDeps = SourceDeps;

/** Builds a pull source from its parsed config; validates, touches no network. */
export type PullSourceFactory<S extends z.ZodType> = (config: z.output<S>, deps: PullSourceDeps) => PullSource;

/**
 * Wraps a pull source factory as a registry `SourceFactory`: `start()` hands the source to the
 * scheduler in `deps.scheduler` with the spec's `schedule`; `.pull` is the bare factory. Without a scheduler (a replica with
 * `INGEST_PULL_SOURCES=false`) the source is built, so its config is still checked, but not run.
 */
export function pullSource<S extends z.ZodType>(factory: PullSourceFactory<S>): SourceFactory<S> & { pull: PullSourceFactory<S> } {
  const create: SourceFactory<S> = (config, deps) => {
    const source = factory(config, deps);
    const schedule = (config as { schedule?: PullSchedule }).schedule;
    let handle: SourceHandle | undefined;
    return {
      async start() {
        if (!deps.scheduler) return;
        handle = deps.scheduler.add({ pipeline: deps.pipeline, name: deps.name, schedule, source, logger: deps.logger });
        await handle.start();
      },
      async stop() {
        await handle?.stop();
        await source.close?.();
      },
    };
  };
  // `pull` builds the bare PullSource: tests and the conformance suite run it without a scheduler.
  return Object.assign(create, { pull: factory });
}

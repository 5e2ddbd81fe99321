/**
 * The sinks of a pipeline's tables, made through the sink registry (each table by its kind,
 * core's `sinkKindOf`) and sharing one client per connection. `openTableSinks` also opens them
 * when the loader starts: an incompatible table is reported, to be blocked (its records
 * dead-lettered with TRIB_E_SCHEMA_INCOMPATIBLE, the others loading); an unreachable sink fails
 * the start, as an unreachable PostgreSQL does.
 */
import { sinkKindOf, type Pipeline } from '@tributary/contract/spec';
import type { Logger } from '@tributary/runtime/logger';
import { SINKS } from './sinks/registry';
import type { SharedResource, TableSink } from './sink';

/** A pipeline's table sinks, by table name, and what they share. */
export interface TableSinks {
  sinks: Map<string, TableSink>;
  /** Problems of tables whose schema cannot take the spec, by table name. */
  problems: Map<string, string[]>;
  /** Why a sink cannot take writes (for /readyz), or undefined when all can. */
  ready(): Promise<string | undefined>;
  /** Closes the sinks and the clients they share. */
  close(): void;
}

/** Makes the sink of every table of `pipeline`; no request is sent. */
export function createTableSinks(pipeline: Pipeline, logger?: Logger): TableSinks {
  const resources = new Map<string, SharedResource>();
  const shared = <T extends SharedResource>(key: string, make: () => T): T => {
    const have = resources.get(key) as T | undefined;
    if (have) return have;
    const made = make();
    resources.set(key, made);
    return made;
  };
  const sinks = new Map<string, TableSink>();
  try {
    for (const t of pipeline.tables) sinks.set(t.name, SINKS[sinkKindOf(t)].create(t, { pipeline, logger, shared }));
  } catch (err) {
    for (const r of resources.values()) r.close();
    throw err;
  }
  return {
    sinks,
    problems: new Map(),
    async ready() {
      for (const s of sinks.values()) {
        const why = await s.ready();
        if (why !== undefined) return why;
      }
      return undefined;
    },
    close() {
      for (const s of sinks.values()) s.close();
      for (const r of resources.values()) r.close();
      resources.clear();
    },
  };
}

/** Makes and opens the sink of every table of `pipeline` (see the top of this file). */
export async function openTableSinks(pipeline: Pipeline, logger?: Logger): Promise<TableSinks> {
  const out = createTableSinks(pipeline, logger);
  try {
    for (const [name, sink] of out.sinks) {
      const problems = await sink.open();
      if (problems.length > 0) out.problems.set(name, problems);
    }
  } catch (err) {
    out.close();
    throw err;
  }
  return out;
}

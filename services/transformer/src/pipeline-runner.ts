/**
 * Runs a pipeline's datasets over one batch of source records: the batch goes through the
 * dataset's steps in order (per-record steps record by record, batch steps on the whole batch),
 * then each record is projected onto the declared fields (typed, required fields checked).
 * Datasets that read other datasets run in the same pass, in dependency order; a `route` step
 * hands its routed records to the target datasets instead of its output.
 *
 * Longer than 300 lines because dataset order, routing, projection and releases share the compiled
 * datasets.
 */
import { oldestSourceTime } from '@tributary/contract/wire';
import { toTributaryError } from '@tributary/contract/errors';
import { type Dataset, type Pipeline } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { DROPPED, Projection, type DriftTally } from './drift/projection';
import { knownFieldNames } from './drift/known-fields';
import { BatchReferences } from './state/batch-references';
import { referenceKeys } from './state/reference-store';
import { createStep } from './steps/registry';
import type { BatchContext, BatchItem, Release, Step, StepFailure, StepServices } from './steps/step';

/** A record a step or the projection rejected. */
export type Failure = StepFailure;

/** The outcome of one dataset for one input batch. */
export interface DatasetResult {
  dataset: string;
  records: Rec[];
  /** Records dropped on purpose: filter, dedupe repeats, enrich misses with `drop`, routed away, `on_drift: discard_row`. */
  filtered: number;
  /** Of `filtered`, the records a route step sent to other datasets. */
  routed: number;
  /**
   * Of `filtered`, the records the pipeline counts elsewhere (sent as `Trib-Routed`): those a route
   * step sent on, and, for a dataset read straight from the source, the records another dataset
   * of that source took (loaded or dead-lettered) or, filtered by all of them, counted as filtered
   * by the first. So a pipeline counts each accepted record once: `filtered - elsewhere` summed.
   */
  elsewhere: number;
  /** Input positions the dataset kept or dead-lettered (input indices; absent when not known record by record). */
  taken?: Set<number>;
  /** Window datasets: input records aggregated into `records` (partial rows); their `record_count`s add up to it. */
  aggregated?: number;
  failures: Failure[];
  /** `emit` steps: records to publish as events, by event name. */
  events?: Map<string, Rec[]>;
  /** Fingerprint of the schema the dataset's records were validated against (its last `validate` step). */
  fingerprint?: string;
  /** Identities of the models that scored this batch's records (`model` steps), sent as `Trib-Model`. */
  models?: string[];
  /** The oldest source time of the inputs behind `records` (sent as `Trib-Source-Time`). */
  sourceTime?: string;
  /** Schema drift the projection found, per field and kind (absent when none). */
  drift?: DriftTally;
}

/** What the steps' clocks released (see `Release`), run through the rest of the pipeline. */
export interface ReleasedRun {
  id: string;
  /** The dataset whose step released the records. */
  dataset: string;
  source?: string;
  ingestedAt: number;
  results: DatasetResult[];
  /** Tells the step the results are durable. */
  confirm(): Promise<void>;
}

interface CompiledDataset {
  def: Dataset;
  steps: Step[];
  /** The projection onto the declared fields, where schema drift is found. */
  projection: Projection;
}

/** A pipeline compiled for running. */
export class PipelineRunner {
  private readonly datasets: CompiledDataset[];
  /** Reference datasets (read by `enrich: { from: { dataset } }`) and the key fields they are looked up by. */
  private readonly referenceKeys: Map<string, string[][]>;

  constructor(
    readonly pipeline: Pipeline,
    hmacKey: string,
  ) {
    const known = knownFieldNames(pipeline);
    this.referenceKeys = referenceKeys(pipeline);
    this.datasets = referencesFirst(pipeline.datasets).map((def) => ({
      def,
      steps: def.steps.map((s, index) => createStep(s, { pipeline, dataset: def.name, index, hmacKey })),
      projection: new Projection(pipeline, def, known.get(def.name)!),
    }));
  }

  /** Services the steps need (`state` KV, `db`), so the app connects only those. */
  needs(): Set<keyof StepServices> {
    return new Set(this.datasets.flatMap((d) => d.steps.flatMap((s) => s.needs ?? [])));
  }

  /** Whether any step releases records on its own clock (join timeouts, idle sessions). */
  hasClock(): boolean {
    return this.datasets.some((d) => d.steps.some((s) => s.release));
  }

  /** Opens every step that has services to connect. */
  async open(services: StepServices): Promise<void> {
    for (const d of this.datasets) for (const s of d.steps) await s.open?.(services);
  }

  /** Closes every step. */
  async close(): Promise<void> {
    for (const d of this.datasets) for (const s of d.steps) await s.close?.();
  }

  /** Whether any dataset reads from `source` (directly or through other datasets). */
  feeds(source: string): boolean {
    return this.datasets.some((d) => d.def.from.includes(source));
  }

  /**
   * Runs a dataset's steps from `fromStep` on `start` (each record with its position in `input`
   * and, when the dataset reads several inputs, the input it came from), then the projection.
   */
  private async runOne(
    ds: CompiledDataset,
    input: Rec[],
    ctx: BatchContext,
    start: BatchItem[] = input.map((record, index) => ({ record, index })),
    fromStep = 0,
  ): Promise<{ result: DatasetResult; routed: Map<string, Rec[]>; positions: number[] }> {
    const result: DatasetResult = { dataset: ds.def.name, records: [], filtered: 0, routed: 0, elsewhere: 0, failures: [] };
    if (ctx.sourceTime) result.sourceTime = ctx.sourceTime;
    const fingerprint = ds.steps.findLast((s) => s.fingerprint)?.fingerprint;
    if (fingerprint) result.fingerprint = fingerprint;
    const routed = new Map<string, Rec[]>();
    let items = start;
    for (const step of ds.steps.slice(fromStep)) {
      if (items.length === 0) break;
      if (step.applyBatch) {
        const out = await step.applyBatch(items, ctx);
        items = out.items;
        result.filtered += out.filtered;
        if (out.aggregated !== undefined) result.aggregated = out.aggregated;
        if (out.models) result.models = [...(result.models ?? []), ...out.models];
        const oldest = oldestSourceTime(result.sourceTime, out.sourceTime);
        if (oldest) result.sourceTime = oldest;
        result.failures.push(...out.failures);
        for (const [name, recs] of out.events ?? []) {
          result.events ??= new Map();
          result.events.set(name, [...(result.events.get(name) ?? []), ...recs]);
        }
        for (const [target, recs] of out.routed ?? []) {
          routed.set(target, [...(routed.get(target) ?? []), ...recs]);
          result.routed += recs.length;
        }
        continue;
      }
      const next: BatchItem[] = [];
      for (const it of items) {
        try {
          const out = step.apply!(it.record);
          // Most steps answer synchronously; awaiting only promises saves a microtask per record per step.
          const rec = out instanceof Promise ? await out : out;
          if (rec === null) result.filtered++;
          // A step that passed the record on unchanged (filter, validate) needs no new item.
          else next.push(rec === it.record ? it : { record: rec, index: it.index, from: it.from });
        } catch (err) {
          result.failures.push({ index: it.index, record: input[it.index] ?? it.record, error: toTributaryError(err, 'TRIB_E_STEP') });
        }
      }
      items = next;
    }
    const drift: DriftTally = new Map();
    /** The input position of each record of `result.records`. */
    const positions: number[] = [];
    const taken = new Set<number>();
    for (const it of items) {
      try {
        const rec = ds.projection.project(it.record, drift);
        if (rec === DROPPED) result.filtered++;
        else {
          result.records.push(rec);
          positions.push(it.index);
          taken.add(it.index);
        }
      } catch (err) {
        result.failures.push({ index: it.index, record: input[it.index] ?? it.record, error: toTributaryError(err, 'TRIB_E_STEP') });
      }
    }
    for (const f of result.failures) taken.add(f.index);
    // Known record by record only when what was taken and what was filtered add up to the input
    // (a window's partial rows, or a step adding records, break the one-to-one).
    if (result.aggregated === undefined && taken.size + result.filtered === start.length) result.taken = taken;
    result.elsewhere = result.routed;
    if (drift.size > 0) result.drift = drift;
    // Failures in input order, whichever step found them, so DLQ IDs and tests are stable.
    result.failures.sort((a, b) => a.index - b.index);
    return { result, routed, positions };
  }

  /**
   * Runs every dataset fed by `source` (and those fed by them) over `records`. `inputId` is the
   * input message's ID; batch steps derive their state changes from it.
   */
  async run(
    source: string,
    records: Rec[],
    inputId = 'test',
    opts: { schema?: string; sourceTime?: string } = {},
  ): Promise<DatasetResult[]> {
    const times = new Map<string, string | undefined>([[source, opts.sourceTime]]);
    const results = await this.runDownstream(new Map([[source, records]]), [], inputId, source, new Map(), opts.schema, times);
    this.countOnce(source, records.length, results);
    return results;
  }

  /**
   * Several datasets reading one source (a CDC source's tables, each dataset filtering its own)
   * each count the others' records as filtered. So that the pipeline counts every accepted record
   * once (docs/design.md, Counting invariant), a record one dataset filtered is counted elsewhere
   * when another took it, or, when all filtered it, by every dataset but the first. Only when each
   * of them knows its records one by one; otherwise nothing changes.
   */
  private countOnce(source: string, size: number, results: DatasetResult[]): void {
    const direct = results.filter((r) => {
      const from = this.datasets.find((d) => d.def.name === r.dataset)?.def.from;
      return from?.length === 1 && from[0] === source;
    });
    if (direct.length < 2 || direct.some((r) => r.taken === undefined)) return;
    const takenBy = new Uint16Array(size);
    for (const r of direct) for (const i of r.taken!) if (i < size) takenBy[i]!++;
    direct.forEach((r, n) => {
      let elsewhere = 0;
      for (let i = 0; i < size; i++) {
        if (r.taken!.has(i)) continue;
        // Filtered here: counted by whoever took it, or (no one did) by the first dataset.
        if (takenBy[i]! > 0 || n > 0) elsewhere++;
      }
      r.elsewhere += elsewhere;
    });
  }

  /**
   * Whether a dataset's leading `validate` step can be skipped for a batch straight from the
   * source: ingest already checked every record of it against the very same schema
   * (`schema`, the raw message's fingerprint header, which only ingest sets after checking).
   */
  private validatedAtIngest(ds: CompiledDataset, from: string, source: string | undefined, schema: string | undefined): boolean {
    const first = ds.steps[0];
    return schema !== undefined && from === source && first?.kind === 'validate' && first.fingerprint === schema;
  }

  /**
   * Runs the datasets fed by `outputs` (names already produced), in dependency order, after the
   * results already computed in `results`.
   */
  private async runDownstream(
    outputs: Map<string, Rec[]>,
    results: DatasetResult[],
    inputId: string,
    source: string | undefined,
    routedTo = new Map<string, Map<string, Rec[]>>(),
    schema?: string,
    /** The oldest source time behind each name in `outputs` (a dataset inherits the oldest of what it reads). */
    times = new Map<string, string | undefined>(),
  ): Promise<DatasetResult[]> {
    const references = this.referenceKeys.size > 0 ? new BatchReferences(this.pipeline.name, this.referenceKeys) : undefined;
    for (const ds of this.datasets) {
      if (outputs.has(ds.def.name)) continue;
      const parts: { from: string; recs: Rec[] }[] = [];
      let fed = false;
      for (const f of ds.def.from) {
        const routed = routedTo.get(ds.def.name)?.get(f);
        const routes = this.routesOf(f);
        if (routes.has(ds.def.name)) {
          // A route target reads only what its router sent it (nothing when the router did not run).
          if (outputs.has(f)) fed = true;
          if (routed) parts.push({ from: f, recs: routed });
        } else if (outputs.has(f)) {
          fed = true;
          parts.push({ from: f, recs: outputs.get(f)! });
        }
      }
      if (!fed) continue;
      const input = parts.length === 1 ? parts[0]!.recs : parts.flatMap((p) => p.recs);
      // Each record knows which input it came from (a join tells its records from its partners).
      const items: BatchItem[] = [];
      for (const p of parts) for (const record of p.recs) items.push({ record, index: items.length, from: p.from });
      const sourceTime = oldestSourceTime(...parts.map((p) => times.get(p.from)));
      const ctx = {
        inputId,
        pipeline: this.pipeline.name,
        dataset: ds.def.name,
        ...(source ? { source } : {}),
        ...(sourceTime ? { sourceTime } : {}),
      };
      const skipValidate = parts.length === 1 && this.validatedAtIngest(ds, parts[0]!.from, source, schema);
      // Positions are the source batch's when the dataset reads the source itself.
      const sourceOrder = parts.length === 1 && source !== undefined && parts[0]!.from === source;
      const { result, routed, positions } = await this.runOne(
        ds,
        input,
        { ...ctx, size: items.length, ...(references ? { references, sourceOrder } : {}) },
        items,
        skipValidate ? 1 : 0,
      );
      references?.add(ds.def.name, result.records, sourceOrder ? positions : []);
      outputs.set(ds.def.name, result.records);
      times.set(ds.def.name, result.sourceTime);
      for (const [target, recs] of routed) {
        if (!routedTo.has(target)) routedTo.set(target, new Map());
        routedTo.get(target)!.set(ds.def.name, recs);
      }
      results.push(result);
    }
    return results;
  }

  /**
   * What the stateful steps' clocks release now (join timeouts, idle sessions), each run through
   * the rest of its dataset and the datasets downstream, as if it were an input message with ID
   * `release.id`. The caller publishes the results, then calls `confirm`.
   */
  async release(now = Date.now()): Promise<ReleasedRun[]> {
    const out: ReleasedRun[] = [];
    for (const ds of this.datasets) {
      for (const [i, step] of ds.steps.entries()) {
        if (!step.release) continue;
        for (const r of await step.release(now)) out.push(await this.continueFrom(ds, i + 1, r));
      }
    }
    return out;
  }

  /** Runs a release through the steps after the one that released it, then downstream. */
  private async continueFrom(ds: CompiledDataset, fromStep: number, r: Release): Promise<ReleasedRun> {
    const ctx = {
      inputId: r.id,
      pipeline: this.pipeline.name,
      dataset: ds.def.name,
      ...(r.source ? { source: r.source } : {}),
      ...(r.sourceTime ? { sourceTime: r.sourceTime } : {}),
    };
    const { result, routed } = await this.runOne(ds, [], { ...ctx, size: r.items.length }, r.items, fromStep);
    result.filtered += r.filtered;
    result.failures.unshift(...r.failures);
    const routedTo = new Map<string, Map<string, Rec[]>>();
    for (const [target, recs] of routed) routedTo.set(target, new Map([[ds.def.name, recs]]));
    const times = new Map([[ds.def.name, result.sourceTime]]);
    const results = await this.runDownstream(
      new Map([[ds.def.name, result.records]]),
      [result],
      r.id,
      r.source,
      routedTo,
      undefined,
      times,
    );
    return {
      id: r.id,
      dataset: ds.def.name,
      ingestedAt: r.ingestedAt,
      results,
      confirm: r.confirm,
      ...(r.source ? { source: r.source } : {}),
    };
  }

  /** The route targets of a dataset's route steps. */
  private routesOf(name: string): Set<string> {
    const ds = this.pipeline.datasets.find((d) => d.name === name);
    const out = new Set<string>();
    for (const s of ds?.steps ?? []) if (s.kind === 'route') for (const t of Object.keys(s.config)) out.add(t);
    return out;
  }
}

/**
 * The datasets in dependency order with each reference dataset (read by `enrich: { from: { dataset } }`)
 * before the datasets that enrich from it, so they see its rows of the same batch; otherwise the
 * spec's order. A cycle of references keeps the spec's order for the datasets in it.
 */
function referencesFirst(datasets: readonly Dataset[]): Dataset[] {
  const names = new Set(datasets.map((d) => d.name));
  const needs = new Map(
    datasets.map((d) => {
      const refs = d.steps.flatMap((s) => (s.kind === 'enrich' && 'dataset' in s.config.from ? [s.config.from.dataset] : []));
      return [d.name, new Set([...d.from, ...refs].filter((n) => n !== d.name && names.has(n)))];
    }),
  );
  const out: Dataset[] = [];
  const placed = new Set<string>();
  const left = [...datasets];
  while (left.length > 0) {
    let i = left.findIndex((d) => [...needs.get(d.name)!].every((n) => placed.has(n)));
    // A cycle through references: the first dataset whose inputs have run (the spec's order has one).
    if (i < 0) i = left.findIndex((d) => d.from.every((n) => n === d.name || !names.has(n) || placed.has(n)));
    if (i < 0) i = 0;
    const [d] = left.splice(i, 1);
    out.push(d!);
    placed.add(d!.name);
  }
  return out;
}

/**
 * Runs a pipeline's datasets over one batch of source records: each record goes through the
 * dataset's steps, then is projected onto the declared fields (typed, required fields checked).
 * Datasets that read other datasets run in the same pass, in dependency order.
 */
import { tablesOf, toTributaryError, TributaryError, type Dataset, type Pipeline, type Rec } from '@tributary/core';
import { castValue } from './steps/cast-value';
import { STEPS } from './steps/registry';
import type { Step } from './steps/step';

/** A record a step or the projection rejected. */
export interface Failure {
  /** Index of the record in the dataset's input batch. */
  index: number;
  record: Rec;
  error: TributaryError;
}

/** The outcome of one dataset for one input batch. */
export interface DatasetResult {
  dataset: string;
  records: Rec[];
  filtered: number;
  failures: Failure[];
}

interface CompiledDataset {
  def: Dataset;
  steps: Step[];
  /** Fields that must be present: declared required, or part of a table key. */
  required: Set<string>;
}

/** A pipeline compiled for running. */
export class PipelineRunner {
  private readonly datasets: CompiledDataset[];

  constructor(
    readonly pipeline: Pipeline,
    hmacKey: string,
  ) {
    this.datasets = pipeline.datasets.map((def) => ({
      def,
      steps: def.steps.map((s, index) => {
        const impl = STEPS[s.kind] as { create: (c: unknown, d: unknown) => Step };
        return impl.create(s.config, { pipeline, dataset: def.name, index, hmacKey });
      }),
      required: new Set([
        ...def.fields.filter((f) => f.required).map((f) => f.name),
        ...tablesOf(pipeline, def.name).flatMap((t) => t.key ?? []),
      ]),
    }));
  }

  /** Whether any dataset reads from `source` (directly or through other datasets). */
  feeds(source: string): boolean {
    return this.datasets.some((d) => d.def.from.includes(source));
  }

  private async runOne(ds: CompiledDataset, input: Rec[]): Promise<DatasetResult> {
    const result: DatasetResult = { dataset: ds.def.name, records: [], filtered: 0, failures: [] };
    for (let i = 0; i < input.length; i++) {
      let rec: Rec | null = input[i]!;
      try {
        for (const step of ds.steps) {
          rec = await step.apply(rec);
          if (rec === null) break;
        }
        if (rec === null) {
          result.filtered++;
          continue;
        }
        result.records.push(this.project(ds, rec));
      } catch (err) {
        result.failures.push({ index: i, record: input[i]!, error: toTributaryError(err, 'TRIB_E_STEP') });
      }
    }
    return result;
  }

  /** Keeps only declared fields, converted to their types; a missing required field throws. */
  private project(ds: CompiledDataset, rec: Rec): Rec {
    const out: Rec = {};
    for (const f of ds.def.fields) {
      const v = castValue(f.name, f.type, rec[f.name]);
      if (v === null && ds.required.has(f.name)) {
        throw new TributaryError('TRIB_E_VALIDATION', `field "${f.name}" is required in dataset "${ds.def.name}" but missing`, {
          location: { field: f.name },
        });
      }
      out[f.name] = v;
    }
    return out;
  }

  /** Runs every dataset fed by `source` (and those fed by them) over `records`. */
  async run(source: string, records: Rec[]): Promise<DatasetResult[]> {
    const outputs = new Map<string, Rec[]>([[source, records]]);
    const results: DatasetResult[] = [];
    for (const ds of this.datasets) {
      const inputs = ds.def.from.filter((f) => outputs.has(f));
      if (inputs.length === 0) continue;
      const input = inputs.length === 1 ? outputs.get(inputs[0]!)! : inputs.flatMap((f) => outputs.get(f)!);
      const r = await this.runOne(ds, input);
      outputs.set(ds.def.name, r.records);
      results.push(r);
    }
    return results;
  }
}

/**
 * The pipeline spec: the single source of truth for what a pipeline YAML may contain.
 * TypeScript types, the JSON Schema for editors (docs/pipeline-spec.schema.json) and the
 * reference doc (docs/reference/pipeline-spec.md) are generated from `pipelineSpecSchema`.
 */
import { z } from 'zod';
import type { ReferenceProblem } from './spec-problem';
import { archiveSpec, checkArchiveReferences } from './archive-spec';
import { duration, fieldSpec, identifier } from './common';
import { connectionSpec } from './connections';
import { checkStreamSteps, derivedFieldNames } from './derived-spec';
import { sourceSpec } from './sources/registry';
import { stepSpec } from './steps/registry';
import { checkSinkReferences } from './sink-references';
import { tableSpec } from './modes/registry';
import { generatedDimensionsSpec } from './generated-dimensions';
import { checksSpec } from './check-spec';
import { modelsSpec } from './model-spec';
import { checkWarehouseReferences } from './warehouse-spec';
import { checkDriftReferences, DEFAULT_DRIFT_POLICY, driftPolicy } from './drift';

/** The circuit breaker of a pipeline (docs/operations.md, Circuit breaker). */
export const circuitBreakerSpec = z
  .strictObject({
    failure_rate: z.number().gt(0).max(1).default(0.5).meta({
      description: 'Trips when more than this share of the records transformed within `window` were dead-lettered.',
    }),
    min_records: z.int().min(1).default(100).meta({
      description: 'Records that must have been transformed within `window` before it may trip (a few bad records never pause a pipeline).',
    }),
    window: duration.default(60_000).meta({ description: 'How far back the failure rate is measured (a sliding window).' }),
  })
  .meta({ title: 'circuit breaker' });

/** A dataset: records from sources or other datasets, run through steps, with declared output fields. */
export const datasetSpec = z
  .strictObject({
    from: z
      .union([identifier, z.array(identifier).min(1)])
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .meta({ description: 'Sources or datasets whose records feed this dataset.' }),
    description: z.string().optional(),
    fields: z
      .record(identifier, fieldSpec)
      .refine((f) => Object.keys(f).length > 0, 'declare at least one field')
      .optional()
      .meta({
        description:
          'Output fields and their types; records are projected onto them and tables take their columns from them. Required, except for a window dataset (derived from its window step).',
      }),
    steps: z.array(stepSpec).default([]).meta({ description: 'Steps run in order on each record.' }),
    on_drift: driftPolicy.optional().meta({
      unset: "the pipeline's",
      description: "This dataset's schema drift policy (see the pipeline's `on_drift`); the pipeline's when unset.",
    }),
  })
  .meta({ title: 'dataset' });

/** The whole pipeline file. */
export const pipelineSpecSchema = z
  .strictObject({
    pipeline: identifier.meta({ description: 'Pipeline name, used in subjects, consumer names and URLs.' }),
    description: z.string().optional(),
    sla: z
      .strictObject({
        freshness: duration.default(30 * 60_000).meta({
          description: 'Data must be visible in the warehouse within this long after ingest; the monitor alerts beyond it.',
        }),
      })
      .default({ freshness: 30 * 60_000 }),
    circuit_breaker: circuitBreakerSpec.optional().meta({
      unset: 'off',
      description:
        'Pauses the pipeline when its records fail in the transformer at a high rate, instead of dead-lettering everything: accepted records then wait in the raw stream until an operator resumes it (dashboard, API or `tributary pipelines resume`). `{}` turns it on with the defaults. Records the source schema rejects at ingest are answered to the sender and do not count.',
    }),
    connections: z
      .record(identifier, connectionSpec)
      .default({})
      .meta({ description: 'Named connections (HTTP APIs, databases, buckets) with their credentials, referenced by sources.' }),
    sources: z
      .record(identifier, sourceSpec)
      .refine((s) => Object.keys(s).length > 0, 'declare at least one source')
      .meta({ description: 'Where records come from, by name.' }),
    datasets: z.record(identifier, datasetSpec).meta({ description: 'What the transformer produces, by name.' }),
    on_drift: driftPolicy.optional().meta({
      unset: `\`${DEFAULT_DRIFT_POLICY}\`, new fields reported`,
      description: `The datasets' schema drift policy, unless a dataset sets its own; unset: \`${DEFAULT_DRIFT_POLICY}\` for missing and mistyped fields, new fields reported and left out.`,
    }),
    tables: z.record(identifier, tableSpec).default({}).meta({ description: 'Warehouse tables the loader fills, by name.' }),
    dimensions: generatedDimensionsSpec,
    models: modelsSpec,
    checks: checksSpec,
    archive: archiveSpec.optional(),
  })
  .meta({ title: 'Tributary pipeline', description: 'One pipeline: its sources, datasets (with steps) and warehouse tables.' });

/** A pipeline spec as written (after defaults and transforms). */
export type PipelineSpec = z.output<typeof pipelineSpecSchema>;
/** A dataset spec as written. */
export type DatasetSpec = z.output<typeof datasetSpec>;

const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * Cross-references between sections (dataset `from`, table `from` and `key`, unique names),
 * checked on the raw document so they are reported together with every other problem, even when
 * other parts of the file are invalid (zod skips refinements of objects that have issues).
 */
export function checkReferences(root: unknown): ReferenceProblem[] {
  const out: ReferenceProblem[] = [];
  const doc = obj(root);
  const sources = new Set(Object.keys(obj(doc.sources)));
  const datasetsRaw = obj(doc.datasets);
  const datasets = new Set(Object.keys(datasetsRaw));
  for (const name of datasets) {
    if (sources.has(name)) out.push({ path: ['datasets', name], message: `"${name}" is also a source name; names must be unique` });
  }
  for (const [name, raw] of Object.entries(datasetsRaw)) {
    const from = obj(raw).from;
    const list = typeof from === 'string' ? [from] : Array.isArray(from) ? from : [];
    list.forEach((f: unknown, i) => {
      if (typeof f !== 'string') return;
      const p = typeof from === 'string' ? ['datasets', name, 'from'] : ['datasets', name, 'from', i];
      if (!sources.has(f) && !datasets.has(f)) {
        out.push({ path: p, message: `unknown source or dataset "${f}" (known: ${[...sources, ...datasets].join(', ')})` });
      }
      if (f === name) out.push({ path: p, message: 'a dataset cannot read from itself' });
    });
  }
  const connections = new Set(Object.keys(obj(doc.connections)));
  for (const [name, raw] of Object.entries(obj(doc.sources))) {
    const ref = obj(raw).connection;
    if (typeof ref === 'string' && !connections.has(ref)) {
      out.push({
        path: ['sources', name, 'connection'],
        message: `unknown connection "${ref}" (declared: ${[...connections].join(', ') || 'none'})`,
      });
    }
  }
  out.push(...checkStreamSteps(root));
  out.push(...checkWarehouseReferences(root));
  out.push(...checkArchiveReferences(root));
  out.push(...checkSinkReferences(root));
  out.push(...checkDriftReferences(root));
  for (const [name, raw] of Object.entries(obj(doc.tables))) {
    const table = obj(raw);
    if (typeof table.from !== 'string') continue;
    const ds = datasetsRaw[table.from];
    if (ds === undefined) {
      out.push({ path: ['tables', name, 'from'], message: `unknown dataset "${table.from}"` });
      continue;
    }
    const fields = derivedFieldNames(ds) ?? obj(obj(ds).fields);
    if (Array.isArray(table.key)) {
      table.key.forEach((k: unknown, i) => {
        if (typeof k === 'string' && !(k in fields)) {
          out.push({ path: ['tables', name, 'key', i], message: `key field "${k}" is not a field of dataset "${table.from}"` });
        }
      });
    }
  }
  return out;
}

/**
 * The pipeline spec: the single source of truth for what a pipeline YAML may contain.
 * TypeScript types, the JSON Schema for editors (docs/pipeline-spec.schema.json) and the
 * reference doc (docs/reference/pipeline-spec.md) are generated from `pipelineSpecSchema`.
 */
import { z } from 'zod';
import { duration, fieldSpec, identifier } from './common';
import { sourceSpec } from './sources';
import { stepSpec } from './steps';
import { tableSpec } from './tables';

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
      .meta({ description: 'Output fields and their types; records are projected onto them and tables take their columns from them.' }),
    steps: z.array(stepSpec).default([]).meta({ description: 'Steps run in order on each record.' }),
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
    sources: z
      .record(identifier, sourceSpec)
      .refine((s) => Object.keys(s).length > 0, 'declare at least one source')
      .meta({ description: 'Where records come from, by name.' }),
    datasets: z.record(identifier, datasetSpec).meta({ description: 'What the transformer produces, by name.' }),
    tables: z.record(identifier, tableSpec).default({}).meta({ description: 'Warehouse tables the loader fills, by name.' }),
  })
  .superRefine((spec, ctx) => {
    const sources = new Set(Object.keys(spec.sources));
    const datasets = new Set(Object.keys(spec.datasets));
    for (const name of datasets) {
      if (sources.has(name)) {
        ctx.addIssue({ code: 'custom', path: ['datasets', name], message: `"${name}" is also a source name; names must be unique` });
      }
    }
    for (const [name, ds] of Object.entries(spec.datasets)) {
      ds.from.forEach((from, i) => {
        if (!sources.has(from) && !datasets.has(from)) {
          ctx.addIssue({
            code: 'custom',
            path: ['datasets', name, 'from', i],
            message: `unknown source or dataset "${from}" (known: ${[...sources, ...datasets].join(', ')})`,
          });
        }
        if (from === name) ctx.addIssue({ code: 'custom', path: ['datasets', name, 'from', i], message: 'a dataset cannot read from itself' });
      });
    }
    for (const [name, table] of Object.entries(spec.tables)) {
      const ds = spec.datasets[table.from];
      if (!ds) {
        ctx.addIssue({ code: 'custom', path: ['tables', name, 'from'], message: `unknown dataset "${table.from}"` });
        continue;
      }
      (table.key ?? []).forEach((k, i) => {
        if (!(k in ds.fields)) {
          ctx.addIssue({ code: 'custom', path: ['tables', name, 'key', i], message: `key field "${k}" is not a field of dataset "${table.from}"` });
        }
      });
    }
  })
  .meta({ title: 'Tributary pipeline', description: 'One pipeline: its sources, datasets (with steps) and warehouse tables.' });

/** A pipeline spec as written (after defaults and transforms). */
export type PipelineSpec = z.output<typeof pipelineSpecSchema>;
/** A dataset spec as written. */
export type DatasetSpec = z.output<typeof datasetSpec>;

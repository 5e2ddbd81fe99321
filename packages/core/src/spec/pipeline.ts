/**
 * The resolved, ready-to-run form of a pipeline spec: datasets in dependency order with
 * normalised fields and steps, referenced schema files loaded.
 */
import { TributaryError } from '../errors';
import type { OnnxSignature } from '../schema/onnx-signature';
import type { ArchiveSpec } from './archive-spec';
import type { FieldDef } from './common';
import type { ConnectionSpec } from './connections';
import type { SourceSpec } from './sources';
import type { StepSpec } from './steps';
import type { TableSpec } from './tables';
import type { WarehouseSections } from '../warehouse/warehouse-spec';

/** A dataset ready to run. */
export interface Dataset {
  name: string;
  /** Names of the sources and datasets feeding it. */
  from: string[];
  fields: FieldDef[];
  steps: StepSpec[];
}

/** A table ready to load. */
export type Table = TableSpec & { name: string };

/** A pipeline ready to run. */
export interface Pipeline {
  name: string;
  /** Absolute path of the YAML file. */
  file: string;
  /** Folder of the YAML file; relative paths in the spec resolve against it. */
  dir: string;
  description?: string;
  slaFreshnessMs: number;
  /** Named connections, referenced by sources as `connection: <name>`. */
  connections: Record<string, ConnectionSpec>;
  sources: Record<string, SourceSpec>;
  /** Datasets in dependency order: every dataset comes after the datasets it reads. */
  datasets: Dataset[];
  tables: Table[];
  /**
   * Schemas referenced by the spec, keyed by their path as written: parsed JSON for JSON Schema
   * and Avro (`.avsc`), the source text for Protobuf (`.proto`); see `schemaKindOf`.
   */
  schemas: Record<string, unknown>;
  /** ONNX models of `model` steps, keyed by their path as written: absolute path, identity and signature as read at load. */
  models?: Record<string, OnnxSignature & { path: string }>;
  /** Generated dimensions, SQL models (in dependency order) and checks. */
  warehouse?: WarehouseSections;
  /** The `archive:` section, when the pipeline declares one. */
  archive?: ArchiveSpec;
}

/** The datasets that read directly from `source` (a source or dataset name). */
export function consumersOf(pipeline: Pipeline, name: string): Dataset[] {
  return pipeline.datasets.filter((d) => d.from.includes(name));
}

/** The tables fed by `dataset`. */
export function tablesOf(pipeline: Pipeline, dataset: string): Table[] {
  return pipeline.tables.filter((t) => t.from === dataset);
}

/** Finds a pipeline by name. */
export function findPipeline(pipelines: readonly Pipeline[], name: string): Pipeline | undefined {
  return pipelines.find((p) => p.name === name);
}

/** The dataset a table loads from. */
export function datasetOf(pipeline: Pipeline, table: Table): Dataset {
  const ds = pipeline.datasets.find((d) => d.name === table.from);
  if (!ds) throw new TributaryError('TRIB_E_SPEC', `table ${table.name}: unknown dataset ${table.from}`);
  return ds;
}

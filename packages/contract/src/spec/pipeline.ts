/**
 * The resolved, ready-to-run form of a pipeline spec: datasets in dependency order with
 * normalised fields and steps, referenced schema files loaded.
 */
import { TributaryError } from '../errors';
import type { OnnxSignature } from '../schema/onnx-signature';
import type { ArchiveSpec } from './archive-spec';
import type { FieldDef } from './common';
import type { DriftPolicy } from './drift';
import type { ConnectionSpec } from './connections';
import type { SourceSpec } from './sources/registry';
import type { StepSpec } from './steps/registry';
import type { ClickHouseConnection, SinkKind, TableSink } from './table-sink';
import type { TableSpec } from './modes/registry';
import type { WarehouseSections } from './warehouse-spec';

/** A dataset ready to run. */
export interface Dataset {
  name: string;
  /** Names of the sources and datasets feeding it. */
  from: string[];
  fields: FieldDef[];
  steps: StepSpec[];
  /** Its schema drift policy as written (`on_drift`, else the pipeline's); unset: `DEFAULT_DRIFT_POLICY`, new fields reported (see there). */
  onDrift?: DriftPolicy;
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
  /** The circuit breaker (`circuit_breaker:`), when on: pause past this failure rate; `window` in ms. */
  circuit_breaker?: { failure_rate: number; min_records: number; window: number };
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

/** The table's `sink:`, or undefined for a PostgreSQL table. */
export function sinkOf(table: Table): TableSink | undefined {
  return 'sink' in table ? table.sink : undefined;
}

/** The ClickHouse connection a table loads into, or undefined when it loads into PostgreSQL. */
export function clickhouseConnectionOf(pipeline: Pipeline, table: Table): ClickHouseConnection | undefined {
  const sink = sinkOf(table);
  if (!sink) return undefined;
  const c = pipeline.connections[sink.connection];
  // The spec check guarantees it; a hand-built Pipeline may not.
  if (c?.kind !== 'clickhouse') throw new Error(`table ${table.name}: connection "${sink.connection}" is not a clickhouse connection`);
  return c;
}

/** Whether the table loads into PostgreSQL (no `sink:`). */
export function inPostgres(table: Table): boolean {
  return sinkOf(table) === undefined;
}

/** The sink kind a table loads through: a `sink:` names a ClickHouse connection, none means PostgreSQL. */
export function sinkKindOf(table: Table): SinkKind {
  return sinkOf(table) === undefined ? 'postgres' : 'clickhouse';
}

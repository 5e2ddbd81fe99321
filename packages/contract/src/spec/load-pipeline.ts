/**
 * Loads pipeline YAML files: parse, validate against the zod spec, resolve references.
 * Every problem is reported at once, each naming the file, line, column and field path.
 *
 * Longer than 300 lines because parsing, locating problems and cross-checking references share the
 * YAML document and its line counter.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, type Document, type LineCounter } from 'yaml';
import { readYaml, type SpecProblem } from './read-yaml';
import { loadSharedConnections, mergeSharedConnections, SHARED_CONNECTIONS_FILE } from './shared-connections';
import type { z } from 'zod';
import { TributaryError } from '../errors';
import { compileSchema, parseSchemaText, schemaKindOf, type SchemaKind } from '../schema/record-schema';
import { resolveWarehouse } from './warehouse-spec';
import type { FieldDef } from './common';
import { datasetFields, resolveTable } from './resolve-datasets';
import type { Dataset, Pipeline } from './pipeline';
import { checkReferences, pipelineSpecSchema, type PipelineSpec } from './pipeline-spec';
import { resolveModels } from './resolve-models';
import { normaliseStep, STEP_SPECS, type StepKind } from './steps/registry';

export type { SpecProblem } from './read-yaml';

/** Formats problems as `file:line:col: field: message` lines. */
export function formatProblems(problems: SpecProblem[]): string {
  return problems
    .map((p) => `${p.file}${p.line ? `:${p.line}:${p.column ?? 1}` : ''}: ${p.field || '(top level)'}: ${p.message}`)
    .join('\n');
}

export function fieldPath(p: ReadonlyArray<PropertyKey>): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

type Issue = z.core.$ZodIssue;

/**
 * Flattens zod issues; a step that failed the union of step kinds is re-validated against the
 * one kind it names, so the message is about that step rather than "no union branch matched".
 */
function flattenIssues(issues: readonly Issue[], root: unknown): { path: PropertyKey[]; message: string; key?: string }[] {
  const out: { path: PropertyKey[]; message: string; key?: string }[] = [];
  for (const issue of issues) {
    const p = issue.path as PropertyKey[];
    if (issue.code === 'invalid_union' && p.length >= 4 && p[0] === 'datasets' && p[2] === 'steps') {
      const value = getAt(root, p);
      const keys = value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
      if (keys.length !== 1) {
        out.push({ path: p, message: `a step is an object with exactly one key, the step kind (${Object.keys(STEP_SPECS).join(', ')})` });
      } else if (!(keys[0]! in STEP_SPECS)) {
        out.push({ path: p, message: `unknown step "${keys[0]}" (known: ${Object.keys(STEP_SPECS).join(', ')})` });
      } else {
        const kind = keys[0] as StepKind;
        const r = STEP_SPECS[kind].safeParse((value as Record<string, unknown>)[kind]);
        if (!r.success) {
          for (const sub of flattenIssues(r.error.issues, (value as Record<string, unknown>)[kind])) {
            out.push({ ...sub, path: [...p, kind, ...sub.path] });
          }
        }
      }
    } else if (issue.code === 'invalid_union' && 'discriminator' in issue && typeof issue.discriminator === 'string') {
      out.push({
        path: p,
        message: discriminatorMessage(issue.discriminator, (issue as { options?: unknown[] }).options ?? [], getAt(root, p.slice(0, -1))),
      });
    } else if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...p, key], key, message: `unknown field "${key}"` });
    } else {
      out.push({ path: p, message: issue.message });
    }
  }
  return out;
}

/**
 * What is wrong with a `kind:`/`mode:`/`type:` that picks a variant: it is missing (naming the
 * keys the object has, e.g. a YAML merge key that was not merged), not a string, or not one of
 * the known values. Zod's own text says "Invalid discriminator value" for all three.
 */
function discriminatorMessage(key: string, options: unknown[], obj: unknown): string {
  const known = options.map(String).join(', ');
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return `expected an object with "${key}" (one of: ${known})`;
  const value = (obj as Record<string, unknown>)[key];
  if (value === undefined) {
    const keys = Object.keys(obj);
    return `"${key}" is missing (it must be one of: ${known})${keys.length > 0 ? `; the object has ${keys.map((k) => `"${k}"`).join(', ')}` : ''}`;
  }
  if (typeof value !== 'string') return `"${key}" must be a string, one of: ${known} (got ${JSON.stringify(value)})`;
  return `unknown ${key} "${value}" (known: ${known})`;
}

function getAt(root: unknown, p: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const k of p) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** Finds where `p` is in the document: the node, or its key when `key` is set, or the nearest parent. */
export function locate(
  doc: Document,
  lc: LineCounter,
  p: readonly PropertyKey[],
  key?: string,
): { line: number; column: number } | undefined {
  for (let n = p.length; n >= 0; n--) {
    const sub = p.slice(0, n);
    if (key !== undefined && n === p.length) {
      const parent = doc.getIn(sub.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((it) => isScalar(it.key) && it.key.value === key);
        const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
        if (range) {
          const pos = lc.linePos(range[0]);
          return { line: pos.line, column: pos.col };
        }
      }
      continue;
    }
    const node = sub.length === 0 ? doc.contents : doc.getIn(sub, true);
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (range) {
      const pos = lc.linePos(range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return undefined;
}

/** Parses and validates one spec text; returns the spec or the list of problems. */
export function parsePipelineSpec(
  text: string,
  file: string,
  /** The folder's shared connections (`connections.yaml`), copied in where the spec references them. */
  shared: Record<string, unknown> = {},
): { spec?: PipelineSpec; problems: SpecProblem[]; doc?: Document; lc?: LineCounter } {
  const read = readYaml(text, file);
  if ('problems' in read) return read;
  const { doc, lc, root } = read;
  const twice = mergeSharedConnections(root, shared).map((name) => ({
    path: ['connections', name] as PropertyKey[],
    message: `connection "${name}" is also defined in ${SHARED_CONNECTIONS_FILE}: define it once`,
  }));
  const result = pipelineSpecSchema.safeParse(root);
  const issues = [...twice, ...(result.success ? [] : flattenIssues(result.error.issues, root)), ...checkReferences(root)];
  if (!result.success || issues.length > 0) {
    const problems = issues.map((i) => ({
      file,
      ...locate(doc, lc, i.path, 'key' in i ? (i as { key?: string }).key : undefined),
      field: fieldPath(i.path),
      message: i.message,
    }));
    return { problems, doc, lc };
  }
  return { spec: result.data, problems: [], doc, lc };
}

/** Orders datasets so each comes after the datasets it reads; reports cycles. */
function orderDatasets(spec: PipelineSpec): { order: string[]; cycle?: string[] } {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  let cycle: string[] | undefined;
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done' || cycle) return;
    if (state.get(name) === 'visiting') {
      cycle = [...trail.slice(trail.indexOf(name)), name];
      return;
    }
    state.set(name, 'visiting');
    for (const from of spec.datasets[name]!.from) if (from in spec.datasets) visit(from, [...trail, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of Object.keys(spec.datasets)) visit(name, []);
  return { order, cycle };
}

/**
 * Loads, validates and resolves one pipeline file. Throws TRIB_E_SPEC listing every problem.
 * `models: false` leaves the ONNX files of `model` steps unread (for the trainer that writes them).
 */
export function loadPipelineFile(file: string, opts: { models?: boolean } = {}): Pipeline {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new TributaryError('TRIB_E_SPEC', `${file}: cannot read pipeline file: ${(err as Error).message}`, {
      cause: err,
      location: { file },
    });
  }
  const shared = loadSharedConnections(path.dirname(abs));
  const { spec, problems, doc, lc } = parsePipelineSpec(text, file, shared.connections);
  const fail = (list: SpecProblem[]): never => {
    throw new TributaryError('TRIB_E_SPEC', `invalid pipeline spec:\n${formatProblems(list)}`, {
      location: { file, line: list[0]?.line, field: list[0]?.field },
      details: list,
    });
  };
  if (shared.problems.length > 0) return fail(shared.problems);
  if (!spec) return fail(problems);

  const dir = path.dirname(abs);
  const schemas: Record<string, unknown> = {};
  const refs: { path: PropertyKey[]; ref: string; kind?: SchemaKind; message?: string }[] = [];
  for (const [name, src] of Object.entries(spec.sources)) if (src.schema) refs.push({ path: ['sources', name, 'schema'], ref: src.schema });
  for (const [name, ds] of Object.entries(spec.datasets)) {
    ds.steps.forEach((s, i) => {
      const step = normaliseStep(s as Record<string, unknown>);
      if (step.kind === 'validate') {
        const { schema: ref, kind, message } = step.config;
        refs.push({ path: ['datasets', name, 'steps', i, 'validate', 'schema'], ref, kind, message });
      }
    });
  }
  const late: SpecProblem[] = [];
  const problemAt = (p: PropertyKey[], message: string): SpecProblem => ({ file, ...locate(doc!, lc!, p), field: fieldPath(p), message });
  for (const { path: p, ref, kind, message } of refs) {
    if (ref in schemas) continue;
    const target = path.resolve(dir, ref);
    try {
      // JSON Schema and Avro documents are parsed JSON; a .proto file is kept as its text.
      const k = schemaKindOf(ref, kind);
      const parsed = parseSchemaText(readFileSync(target, 'utf8'), k);
      compileSchema(parsed, ref, k, message);
      schemas[ref] = parsed;
    } catch (err) {
      late.push(problemAt(p, `schema ${ref} (${target}): ${(err as Error).message}`));
    }
  }
  const { models, problems: modelProblems } = opts.models === false ? { models: {}, problems: [] } : resolveModels(spec, dir);
  for (const m of modelProblems) late.push(problemAt(m.path, m.message));
  const { order, cycle } = orderDatasets(spec);
  if (cycle) late.push(problemAt(['datasets', cycle[0]!, 'from'], `datasets read from each other in a cycle: ${cycle.join(' -> ')}`));
  if (late.length > 0) fail(late);

  const resolvedFields = new Map<string, FieldDef[]>();
  const datasets: Dataset[] = order.map((name) => {
    const ds = spec.datasets[name]!;
    // A window dataset's fields are derived from its window step, with its input's field types.
    resolvedFields.set(name, datasetFields(spec, name, resolvedFields));
    return {
      name,
      from: ds.from,
      fields: resolvedFields.get(name)!,
      steps: ds.steps.map((s) => normaliseStep(s as Record<string, unknown>)),
      onDrift: ds.on_drift ?? spec.on_drift,
    };
  });
  const tables = Object.entries(spec.tables).map(([name, t]) => {
    const r = resolveTable({ ...t, name }, datasets);
    if (r.problem) late.push(problemAt(['tables', name, 'key'], r.problem));
    return r.table;
  });
  const warehouse = resolveWarehouse(spec, dir);
  for (const p of warehouse.problems) late.push(problemAt(p.path, p.message));
  if (late.length > 0) fail(late);
  return {
    name: spec.pipeline,
    file: abs,
    dir,
    ...(spec.description ? { description: spec.description } : {}),
    slaFreshnessMs: spec.sla.freshness,
    ...(spec.circuit_breaker ? { circuit_breaker: spec.circuit_breaker } : {}),
    connections: spec.connections,
    sources: spec.sources,
    datasets,
    tables,
    schemas,
    models,
    warehouse: warehouse.sections,
    ...(spec.archive ? { archive: spec.archive } : {}),
  };
}

/** Lists the pipeline files named by a folder, a single file, or a `folder/*.yaml`-style glob. */
export function listPipelineFiles(location: string): string[] {
  const abs = path.resolve(location);
  if (abs.includes('*')) {
    const dir = path.dirname(abs);
    const re = new RegExp(
      `^${path
        .basename(abs)
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => re.test(f) && f !== SHARED_CONNECTIONS_FILE)
      .sort()
      .map((f) => path.join(dir, f));
  }
  if (!existsSync(abs)) {
    throw new TributaryError('TRIB_E_SPEC', `pipeline location not found: ${location}`, { location: { file: location } });
  }
  if (statSync(abs).isFile()) return [abs];
  return readdirSync(abs)
    .filter((f) => /\.ya?ml$/.test(f) && f !== SHARED_CONNECTIONS_FILE)
    .sort()
    .map((f) => path.join(abs, f));
}

/** Loads every pipeline at `location`; all problems in all files are reported together. */
export function loadPipelines(location: string): Pipeline[] {
  const files = listPipelineFiles(location);
  if (files.length === 0)
    throw new TributaryError('TRIB_E_SPEC', `no pipeline files (*.yaml) found at ${location}`, { location: { file: location } });
  const pipelines: Pipeline[] = [];
  const problems: SpecProblem[] = [];
  for (const f of files) {
    try {
      pipelines.push(loadPipelineFile(f));
    } catch (err) {
      if (err instanceof TributaryError && Array.isArray(err.details)) problems.push(...(err.details as SpecProblem[]));
      else throw err;
    }
  }
  const seen = new Map<string, string>();
  for (const p of pipelines) {
    const other = seen.get(p.name);
    if (other) problems.push({ file: p.file, field: 'pipeline', message: `pipeline name "${p.name}" is also used by ${other}` });
    seen.set(p.name, p.file);
  }
  if (problems.length > 0) {
    throw new TributaryError('TRIB_E_SPEC', `invalid pipeline spec:\n${formatProblems(problems)}`, {
      location: { file: problems[0]!.file, line: problems[0]!.line, field: problems[0]!.field },
      details: problems,
    });
  }
  return pipelines;
}

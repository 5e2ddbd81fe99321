/**
 * The cross-references of `sink:` and of what reads or finalizes ClickHouse tables, checked on the
 * raw document with every other problem (what a ClickHouse table cannot have: see table-sink.ts).
 */
import { parseDuration } from './common';
import { SINK_MODES } from './sink-modes';
import type { ReferenceProblem } from './spec-problem';
import { indexOptions, partitionOptions } from './table-storage';

const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function rawSteps(ds: unknown): { kind: string; config: Record<string, unknown> }[] {
  const steps = obj(ds).steps;
  return Array.isArray(steps)
    ? steps.map((s) => {
        const kind = Object.keys(obj(s))[0] ?? '';
        return { kind, config: obj(obj(s)[kind]) };
      })
    : [];
}

/** Milliseconds of a raw duration, or undefined when it does not parse (reported elsewhere). */
function ms(v: unknown): number | undefined {
  try {
    return typeof v === 'string' ? parseDuration(v) : undefined;
  } catch {
    return undefined;
  }
}

/** Problems of `sink:` and of what reads or finalizes ClickHouse tables, on the raw document. */
export function checkSinkReferences(root: unknown): ReferenceProblem[] {
  const out: ReferenceProblem[] = [];
  const doc = obj(root);
  const tables = obj(doc.tables);
  const connections = obj(doc.connections);
  const datasets = obj(doc.datasets);
  const inClickHouse = new Set<string>();
  const pgOnly = [...Object.keys(partitionOptions), ...Object.keys(indexOptions)];
  for (const [name, raw] of Object.entries(tables)) {
    const t = obj(raw);
    if (t.sink === undefined) continue;
    inClickHouse.add(name);
    const mode = String(t.mode);
    const modes: readonly string[] = SINK_MODES.clickhouse;
    if (!modes.includes(mode)) {
      out.push({
        path: ['tables', name, 'sink'],
        message: `the clickhouse sink takes only ${modes.join(' and ')} tables; mode ${mode} loads into PostgreSQL`,
      });
      continue;
    }
    const ref = obj(t.sink).connection;
    if (typeof ref === 'string') {
      const kind = obj(connections[ref]).kind;
      if (!(ref in connections)) {
        out.push({
          path: ['tables', name, 'sink', 'connection'],
          message: `unknown connection "${ref}" (declared: ${Object.keys(connections).join(', ') || 'none'})`,
        });
      } else if (kind !== 'clickhouse') {
        out.push({
          path: ['tables', name, 'sink', 'connection'],
          message: `"${ref}" is a ${String(kind)} connection, not a clickhouse one`,
        });
      }
    }
    if (mode === 'append' && t.key !== undefined) {
      out.push({
        path: ['tables', name, 'key'],
        message: 'a ClickHouse append table takes no key (no unique index to skip repeats against): drop repeats with a `dedupe` step',
      });
    }
    if (t.lookups !== undefined) {
      out.push({ path: ['tables', name, 'lookups'], message: 'lookups read PostgreSQL dimensions: a ClickHouse table cannot take them' });
    }
    for (const k of pgOnly) {
      if (t[k] !== undefined)
        out.push({ path: ['tables', name, k], message: `\`${k}\` is a PostgreSQL storage option: a ClickHouse table cannot take it` });
    }
    if (mode === 'aggregate' && typeof t.from === 'string') {
      const w = rawSteps(datasets[t.from]).at(-1);
      if (w?.kind === 'window') {
        const sizes = [ms(w.config.tumbling), ms(obj(w.config.hopping).size), ms(obj(w.config.hopping).advance)];
        if (sizes.some((s) => s !== undefined && s % 1000 !== 0)) {
          out.push({
            path: ['tables', name, 'sink'],
            message: `the window of "${t.from}" is not in whole seconds, and ClickHouse 18.16 stores times in seconds`,
          });
        }
      }
    }
  }
  if (inClickHouse.size === 0) return out;
  // A window's `emit` publishes rows the transformer finalizes in a PostgreSQL aggregate table.
  for (const [ds, raw] of Object.entries(datasets)) {
    const steps = rawSteps(raw);
    const i = steps.length - 1;
    if (steps[i]?.kind !== 'window' || steps[i]!.config.emit === undefined) continue;
    const readers = Object.entries(tables).filter(([, t]) => obj(t).from === ds && obj(t).mode === 'aggregate');
    if (readers.length > 0 && readers.every(([n]) => inClickHouse.has(n))) {
      out.push({
        path: ['datasets', ds, 'steps', i, 'window', 'emit'],
        message: 'final windows are decided in a PostgreSQL aggregate table; every aggregate table of this dataset loads into ClickHouse',
      });
    }
  }
  (Array.isArray(doc.checks) ? doc.checks : []).forEach((raw, i) => {
    const c = obj(raw);
    if (typeof c.table === 'string' && inClickHouse.has(c.table)) {
      out.push({ path: ['checks', i, 'table'], message: `checks run in PostgreSQL; "${c.table}" loads into ClickHouse` });
    }
    for (const [col, ref] of Object.entries(obj(c.relationships))) {
      const target = String(ref).split('.')[0]!;
      if (inClickHouse.has(target)) {
        out.push({ path: ['checks', i, 'relationships', col], message: `checks run in PostgreSQL; "${target}" loads into ClickHouse` });
      }
    }
  });
  for (const [ds, raw] of Object.entries(datasets)) {
    rawSteps(raw).forEach((s, i) => {
      const table = obj(s.config.from).table;
      if (s.kind === 'enrich' && typeof table === 'string' && inClickHouse.has(table)) {
        out.push({
          path: ['datasets', ds, 'steps', i, 'enrich', 'from', 'table'],
          message: `enrich reads PostgreSQL tables; "${table}" loads into ClickHouse`,
        });
      }
    });
  }
  return out;
}

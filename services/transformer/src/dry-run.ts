/**
 * `transformer --dry-run <pipeline.yaml> <source> <sample file>`: runs a pipeline's steps over a
 * sample file (NDJSON or a JSON array) and prints every dataset's output, filtered count and
 * dead letters, touching no server. `dedupe`, `enrich` from a dataset, `join`, `sliding` and
 * `session` use an in-memory KV; window datasets print their partial rows for the whole file (one
 * batch). Several `<source> <sample>` pairs run in order; at the end, waiting join records time
 * out and open sessions close. Exit code 1 when any record was dead-lettered, so a pipeline can be
 * unit-tested in CI like `rpk connect test`.
 */
import { readFileSync } from 'node:fs';
import { decodeNdjson, type Rec } from '@tributary/contract/codec';
import { loadPipelineFile } from '@tributary/contract/spec';
import { memoryKv } from './memory-kv';
import { PipelineRunner, type DatasetResult } from './pipeline-runner';
import { referenceKeys, storeReferences } from './state/reference-store';

/** Prints one dataset result; returns its dead-lettered count. */
function print(r: DatasetResult, out: (line: string) => void, label = ''): number {
  const counts = [`${r.records.length} out`, `${r.filtered} filtered`, `${r.failures.length} dead-lettered`];
  if (r.routed) counts.push(`${r.routed} routed`);
  if (r.aggregated !== undefined) counts.push(`${r.aggregated} aggregated`);
  out(`== ${r.dataset}${label}: ${counts.join(', ')}`);
  for (const rec of r.records) out(JSON.stringify(rec));
  for (const [name, recs] of r.events ?? []) for (const rec of recs) out(`>> event ${name}: ${JSON.stringify(rec)}`);
  for (const f of r.failures) out(`!! record ${f.index}: ${f.error.code} ${f.error.message}`);
  // Schema drift, as the drift events would report it (docs/transforms.md, Schema drift).
  for (const d of r.drift?.values() ?? []) {
    const types = d.kind === 'type_changed' ? ` (${d.expected} declared, ${d.seen} seen)` : '';
    out(`~~ drift: field "${d.field}" ${d.kind}${types} in ${d.count} record(s): ${d.action.replace('_', ' ')}`);
  }
  return r.failures.length;
}

/**
 * Runs the dry run; returns the process exit code. Arguments: the pipeline file, then one or more
 * `<source> <sample file>` pairs, run in order (a join needs records from both of its inputs).
 */
export async function dryRun(args: string[], out: (line: string) => void): Promise<number> {
  const [file, ...pairs] = args;
  if (!file || pairs.length < 2 || pairs.length % 2 !== 0) {
    out('usage: transformer --dry-run <pipeline.yaml> <source> <sample.ndjson|sample.json> [<source> <sample> ...]');
    return 2;
  }
  const pipeline = loadPipelineFile(file);
  const runner = new PipelineRunner(pipeline, process.env.TRIBUTARY_HMAC_KEY ?? 'tributary-development-key-change-me');
  if (runner.needs().has('db')) {
    out('note: enrich from a warehouse table needs PostgreSQL; a dry run has none, so those lookups fail');
  }
  const state = memoryKv();
  await runner.open({ state, dedupe: memoryKv(), join: memoryKv(), windows: memoryKv() });
  const refs = referenceKeys(pipeline);
  let dead = 0;
  for (let i = 0; i < pairs.length; i += 2) {
    const [source, sample] = [pairs[i]!, pairs[i + 1]!];
    if (!(source in pipeline.sources) && !pipeline.datasets.some((d) => d.name === source)) {
      out(`unknown source "${source}" (sources: ${Object.keys(pipeline.sources).join(', ')})`);
      return 2;
    }
    const text = readFileSync(sample, 'utf8');
    const records: Rec[] = text.trimStart().startsWith('[') ? (JSON.parse(text) as Rec[]) : decodeNdjson(Buffer.from(text));
    const results = await runner.run(source, records, `dry-run:${sample}`);
    for (const r of results) {
      await storeReferences(state, pipeline, refs, r.dataset, r.records);
      dead += print(r, out, pairs.length > 2 ? ` (${source})` : '');
    }
  }
  // End of input: the clock runs out, so records still waiting for a join partner time out and
  // open sessions close, as they would once the pipeline went quiet.
  if (runner.hasClock()) {
    for (const run of await runner.release(Date.now() + 100 * 365 * 86_400_000)) {
      for (const r of run.results) dead += print(r, out, ` (released: ${run.id})`);
      await run.confirm();
    }
  }
  return dead > 0 ? 1 : 0;
}

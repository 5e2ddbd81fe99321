/**
 * `transformer --dry-run <pipeline.yaml> <source> <sample file>`: runs a pipeline's steps over a
 * sample file (NDJSON or a JSON array) and prints every dataset's output, filtered count and
 * dead letters, touching no server. `dedupe` and `enrich` from a dataset use an in-memory KV;
 * window datasets print their partial rows for the whole file (one batch). Exit code 1 when any
 * record was dead-lettered, so a pipeline can be unit-tested in CI like `rpk connect test`.
 */
import { readFileSync } from 'node:fs';
import { decodeNdjson, loadPipelineFile, type Rec } from '@tributary/core';
import { memoryKv } from './memory-kv';
import { PipelineRunner } from './pipeline-runner';
import { referenceKeys, storeReferences } from './steps/reference-store';

/** Runs the dry run; returns the process exit code. */
export async function dryRun(args: string[], out: (line: string) => void): Promise<number> {
  const [file, source, sample] = args;
  if (!file || !source || !sample) {
    out('usage: transformer --dry-run <pipeline.yaml> <source> <sample.ndjson|sample.json>');
    return 2;
  }
  const pipeline = loadPipelineFile(file);
  if (!(source in pipeline.sources) && !pipeline.datasets.some((d) => d.name === source)) {
    out(`unknown source "${source}" (sources: ${Object.keys(pipeline.sources).join(', ')})`);
    return 2;
  }
  const text = readFileSync(sample, 'utf8');
  const records: Rec[] = text.trimStart().startsWith('[') ? (JSON.parse(text) as Rec[]) : decodeNdjson(Buffer.from(text));
  const runner = new PipelineRunner(pipeline, process.env.TRIBUTARY_HMAC_KEY ?? 'tributary-development-key-change-me');
  if (runner.needs().has('db')) {
    out('note: enrich from a warehouse table needs PostgreSQL; a dry run has none, so those lookups fail');
  }
  const state = memoryKv();
  await runner.open({ state, dedupe: memoryKv() });
  const results = await runner.run(source, records, `dry-run:${sample}`);
  const refs = referenceKeys(pipeline);
  let dead = 0;
  for (const r of results) {
    await storeReferences(state, pipeline, refs, r.dataset, r.records);
    const counts = [`${r.records.length} out`, `${r.filtered} filtered`, `${r.failures.length} dead-lettered`];
    if (r.routed) counts.push(`${r.routed} routed`);
    if (r.aggregated !== undefined) counts.push(`${r.aggregated} aggregated`);
    out(`== ${r.dataset}: ${counts.join(', ')}`);
    for (const rec of r.records) out(JSON.stringify(rec));
    for (const f of r.failures) out(`!! record ${f.index}: ${f.error.code} ${f.error.message}`);
    dead += r.failures.length;
  }
  return dead > 0 ? 1 : 0;
}

/**
 * Previews (dry runs) for the monitor's DLQ console: answers `trib.preview.<pipeline>` requests
 * (contract in `@tributary/contract`, wire/preview.ts) by running the records, one at a time and in
 * order, through a fresh runner of the pipeline as this transformer runs it, whose KV buckets are
 * overlays of the real ones (overlay-kv.ts) and whose warehouse pool is the real one (read-only
 * lookups): nothing is published and no state changes, yet `dedupe` sees the keys already kept and
 * `enrich` the reference data there is. One preview runs at a time per process.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { previewOutcome, subjects, type PreviewReply, type PreviewRequest, type PreviewResult } from '@tributary/contract/wire';
import { tablesOf, type Pipeline } from '@tributary/contract/spec';
import { toTributaryError } from '@tributary/contract/errors';
import { type Rec } from '@tributary/contract/codec';
import type { Logger } from '@tributary/runtime/logger';
import pLimit from 'p-limit';
import { overlayKv } from './overlay-kv';
import { PipelineRunner } from './pipeline-runner';
import { referenceKeys, storeReferences } from './state/reference-store';
import type { StepServices } from './steps/step';

/** The most records one request may carry (the monitor sends larger previews in parts). */
export const MAX_PREVIEW_RECORDS = 500;

/** Runs `req.records` through `pipeline` without publishing; one result per record, in order. */
export async function previewRecords(
  pipeline: Pipeline,
  hmacKey: string,
  services: StepServices,
  req: PreviewRequest,
): Promise<PreviewResult[]> {
  const runner = new PipelineRunner(pipeline, hmacKey);
  const state = overlayKv(services.state);
  await runner.open({
    state,
    dedupe: overlayKv(services.dedupe),
    join: overlayKv(services.join),
    windows: overlayKv(services.windows),
    ...(services.db ? { db: services.db } : {}),
  });
  const refs = referenceKeys(pipeline);
  try {
    const results: PreviewResult[] = [];
    for (const [index, record] of req.records.entries()) {
      const r: Omit<PreviewResult, 'outcome'> = { index, tables: [], filtered: [], errors: [] };
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        r.errors.push({ stage: 'transform', code: 'TRIB_E_VALIDATION', message: 'a record must be a JSON object' });
      } else {
        try {
          for (const d of await runner.run(req.source, [record as Rec], `preview:${index}`)) {
            await storeReferences(state, pipeline, refs, d.dataset, d.records);
            for (const row of d.records)
              for (const t of tablesOf(pipeline, d.dataset)) r.tables.push({ table: t.name, dataset: d.dataset, row });
            if (d.filtered > 0) r.filtered.push(d.dataset);
            for (const f of d.failures)
              r.errors.push({
                stage: 'transform',
                dataset: d.dataset,
                code: f.error.code,
                message: f.error.message,
                ...(f.error.location.field ? { field: f.error.location.field } : {}),
              });
          }
        } catch (err) {
          const e = toTributaryError(err, 'TRIB_E_STEP');
          r.errors.push({ stage: 'transform', code: e.code, message: e.message, ...(e.location.field ? { field: e.location.field } : {}) });
        }
      }
      results.push({ ...r, outcome: previewOutcome(r) });
    }
    return results;
  } finally {
    await runner.close();
  }
}

/** Answers preview requests for `pipelines` until stopped. */
export function startPreviewResponder(opts: {
  nc: NatsConnection;
  pipelines: Pipeline[];
  hmacKey: string;
  services: StepServices;
  logger: Logger;
}): { stop(): void } {
  const one = pLimit(1);
  const subs: Subscription[] = opts.pipelines.map((pipeline) =>
    opts.nc.subscribe(subjects.preview(pipeline.name), {
      queue: 'transformer-preview',
      callback: (err, msg) => {
        if (err) return opts.logger.warn({ err }, 'preview subscription failed');
        void one(async (): Promise<PreviewReply> => {
          try {
            const req = msg.json<PreviewRequest>();
            if (typeof req?.source !== 'string' || !Array.isArray(req.records) || req.records.length > MAX_PREVIEW_RECORDS) {
              return {
                error: { code: 'TRIB_E_PARSE', message: `a preview needs a source and at most ${MAX_PREVIEW_RECORDS} records` },
              };
            }
            if (!(req.source in pipeline.sources) && !pipeline.datasets.some((d) => d.name === req.source)) {
              return {
                error: { code: 'TRIB_E_UNKNOWN_SOURCE', message: `pipeline ${pipeline.name} has no source or dataset "${req.source}"` },
              };
            }
            return { results: await previewRecords(pipeline, opts.hmacKey, opts.services, req) };
          } catch (e) {
            const te = toTributaryError(e, 'TRIB_E_STEP');
            opts.logger.warn({ err: e, pipeline: pipeline.name }, 'preview failed');
            return { error: { code: te.code, message: te.message } };
          }
        }).then((reply) => msg.respond(JSON.stringify(reply)));
      },
    }),
  );
  return {
    stop: () => {
      for (const s of subs) s.unsubscribe();
    },
  };
}

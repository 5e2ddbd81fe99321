/**
 * `tributary backfill`: republishes archived batches of a pipeline into its processed (or raw)
 * stream with their ORIGINAL message IDs and headers, so the loader loads each message exactly
 * once: a message still inside JetStream's duplicate window is dropped by JetStream, one the
 * warehouse has already is skipped by the load ledger, and a fresh warehouse fills exactly once.
 * Every file is read and checked whole before any of its messages is published; a malformed
 * file stops the backfill with TRIB_E_DECODE naming the file and the record.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { TributaryError } from '@tributary/contract/errors';
import { makeHeaders, subjects } from '@tributary/contract/wire';
import { type ArchiveStage, type Pipeline } from '@tributary/contract/spec';
import { Publisher } from '@tributary/runtime/nats';
import { decodeArchive } from './archive-codec';
import { listArchiveFiles } from './archive-reader';
import type { ArchiveStore } from './archive-store';

/** Inputs of a backfill. */
export interface BackfillOptions {
  pipeline: Pipeline;
  store: ArchiveStore;
  stage: ArchiveStage;
  /** Only this source (raw) or dataset (processed). */
  name?: string;
  from?: string;
  to?: string;
  /** JetStream to publish into; omitted for a dry run (read and check only). */
  js?: JetStreamClient;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What a backfill did. */
export interface BackfillReport {
  files: number;
  messages: number;
  records: number;
  /** Messages JetStream stored (new in the stream). */
  published: number;
  /** Messages JetStream dropped as repeats inside its duplicate window. */
  duplicates: number;
  /** Messages found in more than one file, published once. */
  repeatedInArchive: number;
  /** Keys under the pipeline's prefix that are not archive file names (left alone). */
  foreign: string[];
}

/**
 * Header on every republished message naming the archive file it came from: the archiver does
 * not archive such a message again (it is in the archive already).
 */
export const BACKFILL_HEADER = 'Trib-Backfill';

// Trace context of the original publish is not carried over: the republish starts its own trace.
const DROPPED_HEADERS = new Set(['traceparent', 'tracestate', BACKFILL_HEADER.toLowerCase()]);

/** Runs a backfill. */
export async function backfill(opts: BackfillOptions): Promise<BackfillReport> {
  const { pipeline, stage } = opts;
  const names = new Set(stage === 'raw' ? Object.keys(pipeline.sources) : pipeline.datasets.map((d) => d.name));
  if (opts.name && !names.has(opts.name)) {
    throw new TributaryError(
      'TRIB_E_CONFIG',
      `pipeline ${pipeline.name} has no ${stage === 'raw' ? 'source' : 'dataset'} "${opts.name}" (known: ${[...names].join(', ')})`,
    );
  }
  const { files, foreign } = await listArchiveFiles(opts.store, {
    pipeline: pipeline.name,
    stage,
    name: opts.name,
    from: opts.from,
    to: opts.to,
  });
  const report: BackfillReport = {
    files: files.length,
    messages: 0,
    records: 0,
    published: 0,
    duplicates: 0,
    repeatedInArchive: 0,
    foreign,
  };
  const publisher = opts.js ? new Publisher(opts.js, 256) : undefined;
  const seen = new Set<string>();
  for (const f of files) {
    const messages = await decodeArchive(f.key, await opts.store.get(f.key));
    const subject = stage === 'raw' ? subjects.raw(pipeline.name, f.name) : subjects.processed(pipeline.name, f.name);
    for (const m of messages) {
      if (m.subject !== subject) {
        throw new TributaryError('TRIB_E_DECODE', `${f.key}: message ${m.msgId} has subject ${m.subject}, expected ${subject}`, {
          location: { file: f.key },
        });
      }
    }
    const fresh = messages.filter((m) => !seen.has(m.msgId));
    report.repeatedInArchive += messages.length - fresh.length;
    for (const m of fresh) seen.add(m.msgId);
    report.messages += fresh.length;
    report.records += fresh.reduce((n, m) => n + m.records.length, 0);
    if (!publisher) continue;
    const acks = await Promise.all(
      fresh.map((m) => {
        const kept = Object.entries(m.headers).filter(([k]) => !DROPPED_HEADERS.has(k.toLowerCase()));
        const headers = makeHeaders({ ...Object.fromEntries(kept), [BACKFILL_HEADER]: f.key });
        return publisher.publish(subject, Buffer.from(m.records.join('\n')), { msgId: m.msgId, headers });
      }),
    );
    for (const a of acks) {
      if (a.duplicate) report.duplicates++;
      else report.published++;
    }
    opts.log?.(`${f.key}: ${fresh.length} messages, ${fresh.reduce((n, m) => n + m.records.length, 0)} records`);
  }
  return report;
}

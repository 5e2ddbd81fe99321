/**
 * Reads what a source or dataset of a pipeline has published so far, for pull sources that fan
 * out from parent records (e.g. one weather request per venue of the events stream). An ordered
 * consumer (ephemeral, no acks) reads from the start of the stream or a start time, and stops at
 * the newest message present when it started, so a run sees a stable snapshot.
 */
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { decodeNdjson } from '@tributary/contract/codec';
import { H, STREAMS, subjects } from '@tributary/contract/wire';
import { TributaryError } from '@tributary/contract/errors';
import { type Pipeline } from '@tributary/contract/spec';

/**
 * Yields the records of `from` (a source: `trib.raw.<pipeline>.<from>`; a dataset:
 * `trib.processed.<pipeline>.<from>`), oldest first, published at or after `sinceMs` when given.
 */
export async function* readPublishedRecords(
  js: JetStreamClient,
  pipeline: Pipeline,
  from: string,
  opts: { sinceMs?: number; signal?: AbortSignal } = {},
): AsyncIterable<Record<string, unknown>> {
  const isSource = from in pipeline.sources;
  if (!isSource && !pipeline.datasets.some((d) => d.name === from)) {
    throw new TributaryError('TRIB_E_SPEC', `pipeline "${pipeline.name}" has no source or dataset "${from}" to read records from`);
  }
  const stream = isSource ? STREAMS.raw : STREAMS.processed;
  const subject = isSource ? subjects.raw(pipeline.name, from) : subjects.processed(pipeline.name, from);
  const consumer = await js.consumers.get(stream, {
    filter_subjects: subject,
    ...(opts.sinceMs !== undefined
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(opts.sinceMs).toISOString() }
      : { deliver_policy: DeliverPolicy.All }),
  });
  try {
    const info = await consumer.info(true);
    if (info.num_pending === 0) return;
    const messages = await consumer.consume({ max_messages: 256 });
    const onAbort = (): void => void messages.stop();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const m of messages) {
        // Empty bodies are batches the transformer filtered whole; they carry no records.
        if (m.data.byteLength > 0) yield* decodeNdjson(m.data);
        if (m.info.pending === 0) break;
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      messages.stop();
    }
    opts.signal?.throwIfAborted();
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}

/**
 * The newest message on `trib.raw.<pipeline>.<source>` (a stream message get by last subject:
 * permission `$JS.API.STREAM.MSG.GET.TRIB_RAW`), or undefined when the stream holds none.
 */
export async function readLastPublished(
  js: JetStreamClient,
  pipeline: string,
  source: string,
): Promise<{ id: string; part?: string; records: Record<string, unknown>[] } | undefined> {
  const jsm = await js.jetstreamManager();
  const m = await jsm.streams.getMessage(STREAMS.raw, { last_by_subj: subjects.raw(pipeline, source) }).catch((err: unknown) => {
    // "no message found" is an answer (nothing published yet), anything else is a failure.
    if (/no message found/i.test((err as Error).message)) return null;
    throw err;
  });
  if (!m) return undefined;
  const id = m.header.get('Nats-Msg-Id');
  const part = m.header.get(H.part) || undefined;
  return { id, ...(part ? { part } : {}), records: m.data.byteLength > 0 ? [...decodeNdjson(m.data)] : [] };
}

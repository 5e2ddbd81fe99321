/**
 * Lag of durable consumers from JetStream consumer info: messages not yet delivered (`pending`),
 * delivered but not acked (`ack_pending`) and redelivered. When NATS cannot answer, the numbers
 * are null and `error` says why, so a status reply never waits on a dead connection.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { consumers, STREAMS } from '@tributary/contract/wire';
import { type Pipeline } from '@tributary/contract/spec';
import type { FoldedStream } from '../fold/folded-message';
import { foldSource } from '../fold/stream-fold';
import type { ConsumerLag, StageLag } from '@tributary/contract/monitor-api';
export type { ConsumerLag, StageLag } from '@tributary/contract/monitor-api';

/** Lag of everything the monitor reports: per pipeline, and its own fold loops per stream. */
export interface LagReport {
  pipelines: Map<string, StageLag>;
  /** The monitor's fold consumers: counts are complete when pending and ack_pending are 0. */
  monitor: Record<FoldedStream, ConsumerLag>;
}

const FOLDED: FoldedStream[] = ['raw', 'processed', 'dlq'];

function unavailable(error: string): ConsumerLag {
  return { pending: null, ack_pending: null, redelivered: null, error };
}

async function lagOf(jsm: JetStreamManager, stream: string, durable: string): Promise<ConsumerLag> {
  try {
    const info = await jsm.consumers.info(stream, durable);
    return { pending: info.num_pending, ack_pending: info.num_ack_pending, redelivered: info.num_redelivered };
  } catch (err) {
    return unavailable(`consumer ${stream}/${durable}: ${(err as Error).message}`);
  }
}

/**
 * Reads the lag of every pipeline's transformer and loader consumers and of the monitor's own
 * consumers, all requests in parallel. `connected` false answers at once with an error.
 */
export async function readLag(jsm: JetStreamManager | undefined, pipelines: readonly Pipeline[], connected: boolean): Promise<LagReport> {
  if (!jsm || !connected) {
    const down = unavailable('NATS is not connected');
    return {
      pipelines: new Map(pipelines.map((p) => [p.name, { transformer: down, loader: down }])),
      monitor: { raw: down, processed: down, dlq: down },
    };
  }
  const [monitor, stages] = await Promise.all([
    Promise.all(FOLDED.map((s) => lagOf(jsm, foldSource(s).stream, foldSource(s).durable))),
    Promise.all(
      pipelines.map(async (p): Promise<[string, StageLag]> => {
        const [transformer, loader] = await Promise.all([
          lagOf(jsm, STREAMS.raw, consumers.transformer(p.name)),
          lagOf(jsm, STREAMS.processed, consumers.loader(p.name)),
        ]);
        return [p.name, { transformer, loader }];
      }),
    ),
  ]);
  return { pipelines: new Map(stages), monitor: { raw: monitor[0]!, processed: monitor[1]!, dlq: monitor[2]! } };
}

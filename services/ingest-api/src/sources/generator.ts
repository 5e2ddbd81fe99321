/**
 * `generator` source: synthetic records at a steady rate, published through the same path as
 * pushed records (schema check, batching, DLQ). Each tick publishes the records due since the last.
 */
import { generatorSourceSpec } from '@tributary/core';
import { nuid } from '@nats-io/transport-node';
import type { SourceFactory } from './source';
import { TrafficSimulator } from './traffic-simulator';
import { TransactionsSimulator } from './transactions-simulator';

/** Config shape of the generator source (from the core spec). */
export const spec = generatorSourceSpec;

const TICK_MS = 100;
/** Records made and published at once. */
const CHUNK_RECORDS = 5_000;

/** Creates a generator; `start` begins ticking, `stop` finishes the tick in progress. */
export const create: SourceFactory<typeof spec> = (config, deps) => {
  const instance = nuid.next();
  const simOpts = { seed: config.seed, invalidRatio: config.invalid_ratio, idPrefix: `${deps.name}-${instance}` };
  const sim = config.generator === 'transactions' ? new TransactionsSimulator(simOpts) : new TrafficSimulator(simOpts);
  let timer: NodeJS.Timeout | undefined;
  let busy: Promise<void> | undefined;
  let due = 0;
  let last = Date.now();
  let n = 0;
  const tick = async (): Promise<void> => {
    const now = Date.now();
    // A generator asked for more than the machine can make falls behind; it must not try to catch
    // up with ever larger ticks (unbounded memory), so at most one tick's worth of backlog is kept.
    due = Math.min(due + ((now - last) / 1000) * config.rate, Math.max(1, (config.rate * TICK_MS) / 1000) * 2);
    last = now;
    const count = Math.floor(due);
    if (count === 0) return;
    due -= count;
    // Made and published a chunk at a time: a fast generator's tick holds one chunk's records.
    for (let left = count; left > 0; left -= CHUNK_RECORDS) {
      const size = Math.min(CHUNK_RECORDS, left);
      const records = sim.next(size, now);
      try {
        await deps.ingestor.ingest(deps.pipeline, deps.name, records, `${deps.name}:${instance}:${n++}`, now);
      } catch (err) {
        // JetStream unavailable or full: the rest of this tick's synthetic records are skipped,
        // never half-published (each chunk has its own message ID), and the generator carries on.
        deps.logger.warn({ err, source: deps.name, records: left }, 'generator batch not published');
        break;
      }
    }
  };
  return {
    async start() {
      last = Date.now();
      timer = setInterval(() => {
        if (!busy) busy = tick().finally(() => (busy = undefined));
      }, TICK_MS);
    },
    async stop() {
      if (timer) clearInterval(timer);
      await busy;
    },
  };
};

/**
 * `generator` source: synthetic records at a steady rate, published through the same path as
 * pushed records (schema check, batching, DLQ). Each tick publishes the records due since the last.
 * It stops by itself after `duration` or `total` records, whichever comes first: a demo left
 * running must not fill the warehouse (about 17 GB a day at 200/s).
 */
import { generatorSourceSpec } from '@tributary/contract/spec';
import { nuid } from '@nats-io/transport-node';
import { PeriodicTask } from '@tributary/runtime/periodic-task';
import type { SourceFactory } from './source';
import { TrafficSimulator } from './simulators/traffic-simulator';
import { TransactionsSimulator } from './simulators/transactions-simulator';

/** Config shape of the generator source (from the core spec). */
export const spec = generatorSourceSpec;

const TICK_MS = 100;
/** Records made and published at once. */
const CHUNK_RECORDS = 5_000;

/**
 * Cards the transactions simulator pays with at `rate` payments a second: enough that a card pays
 * about once an hour, as real cards do. With a fixed few hundred cards every card paid every few
 * seconds, and the velocity rule (5 payments in 10 minutes) flagged most payments.
 */
export function cardsForRate(rate: number): number {
  return Math.max(500, Math.round(rate * 3600));
}

/** Creates a generator; `start` begins ticking, `stop` finishes the tick in progress. */
export const create: SourceFactory<typeof spec> = (config, deps) => {
  const instance = nuid.next();
  const simOpts = { seed: config.seed, invalidRatio: config.invalid_ratio, idPrefix: `${deps.name}-${instance}` };
  const sim =
    config.generator === 'transactions'
      ? new TransactionsSimulator({ ...simOpts, cards: cardsForRate(config.rate) })
      : new TrafficSimulator(simOpts);
  let due = 0;
  let last = Date.now();
  let n = 0;
  let made = 0;
  let endsAt = Infinity;
  const finish = (why: string): void => {
    // Called from a tick: stopping waits for that tick, so it is not awaited here.
    void task.stop();
    deps.logger.info({ source: deps.name, records: made }, `generator finished: ${why}`);
  };
  const tick = async (): Promise<void> => {
    const now = Date.now();
    if (now >= endsAt) return finish(`ran for its duration of ${config.duration} ms`);
    // A generator asked for more than the machine can make falls behind; it must not try to catch
    // up with ever larger ticks (unbounded memory), so at most one tick's worth of backlog is kept.
    due = Math.min(due + ((now - last) / 1000) * config.rate, Math.max(1, (config.rate * TICK_MS) / 1000) * 2);
    last = now;
    const count = Math.min(Math.floor(due), (config.total ?? Infinity) - made);
    if (count <= 0) return;
    due -= count;
    // Made and published a chunk at a time: a fast generator's tick holds one chunk's records.
    for (let left = count; left > 0; left -= CHUNK_RECORDS) {
      const size = Math.min(CHUNK_RECORDS, left);
      const records = sim.next(size, now);
      made += size;
      try {
        await deps.ingestor.ingest(deps.pipeline, deps.name, records, `${deps.name}:${instance}:${n++}`, now);
      } catch (err) {
        // JetStream unavailable or full: the rest of this tick's synthetic records are skipped,
        // never half-published (each chunk has its own message ID), and the generator carries on.
        deps.logger.warn({ err, source: deps.name, records: left }, 'generator batch not published');
        break;
      }
    }
    if (config.total !== undefined && made >= config.total) finish(`made its total of ${config.total} records`);
  };
  // tick() reports its own failures; one that escapes is logged and the next tick goes on.
  const task = new PeriodicTask({
    intervalMs: TICK_MS,
    run: tick,
    onError: (err) => deps.logger.error({ err, source: deps.name }, 'generator tick failed'),
  });
  return {
    async start() {
      last = Date.now();
      if (config.duration !== 'unbounded') endsAt = last + config.duration;
      deps.logger.info(
        { source: deps.name, rate: config.rate, duration_ms: config.duration, total: config.total ?? null },
        'generator started',
      );
      task.start();
    },
    async stop() {
      await task.stop();
    },
  };
};

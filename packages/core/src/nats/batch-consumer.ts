/**
 * The pull-consumer loop every stage runs: pulls messages from its durable consumer, hands them
 * to the stage in batches, and acks them only after the handler resolved (its output durable).
 *
 * Failure handling, in order:
 * - retryable errors (JetStream or the warehouse unavailable): the same batch is retried in
 *   process with exponential backoff, keeping the messages alive with `working()`, so an outage
 *   of any length spends no deliveries and loses nothing;
 * - non-retryable errors on a batch of several messages: each message is retried alone, so one
 *   poison message cannot take its neighbours down;
 * - a non-retryable error on a single message, or a message already delivered `maxDeliver` times
 *   (it crashed or stalled the stage every time before): `onPoison` dead-letters it whole, then it
 *   is acked. Nothing is dropped silently.
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { isRetryable } from '../errors';

/** Options of a batch consumer. */
export interface BatchConsumerOptions {
  js: JetStreamClient;
  stream: string;
  durable: string;
  /** Messages handed to `handle` at once. */
  maxBatch: number;
  /** The consumer's max_deliver: a message on its last delivery is dead-lettered unprocessed. */
  maxDeliver: number;
  /** Backoff steps for retryable failures, in ms; the last one repeats. */
  backoffMs?: number[];
  /** Processes a batch; resolves once every output is durable. Throws to retry or isolate. */
  handle: (msgs: JsMsg[]) => Promise<void>;
  /** Dead-letters a whole message that cannot be processed; must resolve only once durable. */
  onPoison: (msg: JsMsg, err: unknown) => Promise<void>;
  logger: Logger;
  /** Called after each handled batch with its size and duration (metrics). */
  onBatch?: (info: { messages: number; ms: number; ok: boolean }) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A running consumer loop. */
export class BatchConsumer {
  private readonly queue: JsMsg[] = [];
  private wake: (() => void) | undefined;
  private spaceWake: (() => void) | undefined;
  private stopping = false;
  private iter: { stop(): void; close(): Promise<void | Error> } | undefined;
  private worker: Promise<void> | undefined;
  private pump: Promise<void> | undefined;
  /** True once the loop pulls messages (for /readyz). */
  running = false;

  constructor(private readonly opts: BatchConsumerOptions) {}

  /** Binds to the durable consumer (which `migrate` created) and starts pulling. */
  async start(): Promise<void> {
    // The first bind fails loudly (a missing consumer is a deployment error); later ones retry.
    const first = await this.bind();
    this.running = true;
    this.pump = this.pumpForever(first);
    this.worker = this.work();
  }

  private async bind(): Promise<AsyncIterable<JsMsg> & { stop(): void; close(): Promise<void | Error> }> {
    const consumer = await this.opts.js.consumers.get(this.opts.stream, this.opts.durable);
    const messages = await consumer.consume({ max_messages: this.opts.maxBatch * 2 });
    this.iter = messages;
    return messages;
  }

  /**
   * Pulls until stopped. If the iterator ends or fails on its own (server restarted, consumer
   * recreated, heartbeats lost for long), binds again with backoff instead of leaving the
   * replica alive but idle.
   */
  private async pumpForever(first: AsyncIterable<JsMsg>): Promise<void> {
    let messages: AsyncIterable<JsMsg> | undefined = first;
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        messages ??= await this.bind();
        this.running = true;
        for await (const m of messages) {
          attempt = 0;
          this.queue.push(m);
          this.wake?.();
          // Back-pressure: stop pulling while two batches wait; the server holds the rest.
          while (this.queue.length >= this.opts.maxBatch * 2 && !this.stopping) {
            await new Promise<void>((r) => (this.spaceWake = r));
          }
        }
        if (!this.stopping) this.opts.logger.warn({ durable: this.opts.durable }, 'consumer iterator ended; binding again');
      } catch (err) {
        this.opts.logger.error({ err, durable: this.opts.durable, attempt }, 'consumer iterator failed; binding again');
      }
      messages = undefined;
      if (this.stopping) break;
      // Not pulling right now: /readyz says so until the next bind succeeds.
      this.running = false;
      await sleep(Math.min(250 * 2 ** attempt, 5_000));
    }
  }

  private async work(): Promise<void> {
    while (!this.stopping) {
      if (this.queue.length === 0) {
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.spaceWake?.();
      this.spaceWake = undefined;
      await this.process(batch);
    }
  }

  private async process(batch: JsMsg[]): Promise<void> {
    const last = batch.filter((m) => m.info.deliveryCount >= this.opts.maxDeliver);
    for (const m of last) {
      await this.poison(m, new Error(`delivered ${m.info.deliveryCount} times without success (max_deliver ${this.opts.maxDeliver})`));
    }
    const todo = batch.filter((m) => m.info.deliveryCount < this.opts.maxDeliver);
    if (todo.length === 0) return;
    await this.attempt(todo);
  }

  /** Runs the handler, retrying transient failures and isolating poison. */
  private async attempt(msgs: JsMsg[]): Promise<void> {
    const backoff = this.opts.backoffMs ?? [100, 500, 2_000, 5_000, 15_000];
    for (let attempt = 0; ; attempt++) {
      const t0 = Date.now();
      try {
        await this.opts.handle(msgs);
        this.opts.onBatch?.({ messages: msgs.length, ms: Date.now() - t0, ok: true });
        for (const m of msgs) m.ack();
        return;
      } catch (err) {
        this.opts.onBatch?.({ messages: msgs.length, ms: Date.now() - t0, ok: false });
        if (isRetryable(err)) {
          if (this.stopping) {
            for (const m of msgs) m.nak();
            return;
          }
          const wait = backoff[Math.min(attempt, backoff.length - 1)]!;
          this.opts.logger.warn({ err, attempt, waitMs: wait, messages: msgs.length }, 'transient failure; retrying batch');
          for (const m of msgs) m.working();
          await sleep(wait);
          continue;
        }
        if (msgs.length > 1) {
          this.opts.logger.warn({ err, messages: msgs.length }, 'batch failed; retrying its messages one by one');
          for (const m of msgs) await this.attempt([m]);
          return;
        }
        await this.poison(msgs[0]!, err);
        return;
      }
    }
  }

  private async poison(msg: JsMsg, err: unknown): Promise<void> {
    this.opts.logger.error({ err, subject: msg.subject, seq: msg.seq, deliveries: msg.info.deliveryCount }, 'dead-lettering whole message');
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.onPoison(msg, err);
        msg.ack();
        return;
      } catch (dlqErr) {
        // The DLQ itself is unavailable: keep the message (never drop it) and try again.
        if (this.stopping) {
          msg.nak();
          return;
        }
        msg.working();
        this.opts.logger.warn({ err: dlqErr, attempt }, 'recording the poison message failed; retrying');
        await sleep(Math.min(500 * 2 ** attempt, 10_000));
      }
    }
  }

  /** Stops pulling, finishes the batch in hand, and naks what is queued so others take it at once. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.iter?.stop();
    this.wake?.();
    this.spaceWake?.();
    await this.worker;
    await this.pump;
    for (const m of this.queue.splice(0)) m.nak();
    this.running = false;
  }
}

/**
 * The pull-consumer loop every stage runs: pulls messages from its durable consumer, hands them
 * to the stage in batches, and acks them only after the handler resolved (its output durable).
 *
 * Failure handling, by failure class (`failureClass`):
 * - infrastructure (JetStream, NATS or the warehouse unavailable): the same batch is retried in
 *   process with exponential backoff, keeping it and the queued messages alive with `working()`
 *   every third of the consumer's ack wait, so an outage of any length spends no deliveries and
 *   loses nothing; `outageSeconds()` says for how long (a metric and an alert past a threshold);
 * - unknown errors (a bug: a `TypeError` in a step): retried `unknownAttempts` times with the same
 *   backoff, then treated as bad data, so one bug isolates one message instead of stalling the
 *   pipeline silently; `onIsolated` is told (a metric and an alert);
 * - bad data on a batch of several messages: each message is retried alone, so one poison
 *   message cannot take its neighbours down;
 * - a non-retryable error on a single message, or a message already delivered `maxDeliver` times
 *   (it crashed or stalled the stage every time before): `onPoison` dead-letters it whole, then it
 *   is acked. Nothing is dropped silently.
 * A copy of a message this loop already settled (redelivered because the ack wait ran out while it
 * was held, e.g. the process was paused) is acked, never handled or dead-lettered a second time.
 *
 * Longer than 300 lines because it is one state machine (pull, batch, ack, retry by failure class,
 * isolate) whose parts share its fields.
 */
import type { ConsumeOptions, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { failureClass, type FailureClass } from './failure-class';

/** Options of a batch consumer. */
export interface BatchConsumerOptions {
  js: JetStreamClient;
  stream: string;
  durable: string;
  /** Messages handed to `handle` at once. */
  maxBatch: number;
  /**
   * Bytes of message data handed to `handle` at once (always at least one message). With large
   * messages a batch of `maxBatch` would hold that many times their size, and as much again is
   * queued and pulled ahead; with this set, the queue holds at most one more batch's bytes and
   * the pull as much again (or two of the largest messages).
   * Default: bounded by `maxBatch` only.
   */
  maxBatchBytes?: number;
  /**
   * The largest message the server takes (its `max_payload`; default 1 MiB, the server's
   * default). A byte-bounded pull must always have room for one, or the server holds the message
   * back until the pull expires.
   */
  maxMessageBytes?: number;
  /**
   * Wait up to this long for a batch to fill before handing it over (default 0: hand over what
   * is there). For stages that write files (the archiver): fewer, larger files. Keep it well
   * below the ack wait.
   */
  lingerMs?: number;
  /** How long a pull request lives on the server (default 10 s; heartbeats come at half that). */
  pullExpiresMs?: number;
  /** The consumer's max_deliver: a message on its last delivery is dead-lettered unprocessed. */
  maxDeliver: number;
  /** Backoff steps for retryable failures, in ms; the last one repeats. */
  backoffMs?: number[];
  /** Processes a batch; resolves once every output is durable. Throws to retry or isolate. */
  handle: (msgs: JsMsg[]) => Promise<void>;
  /** Dead-letters a whole message that cannot be processed; must resolve only once durable. */
  onPoison: (msg: JsMsg, err: unknown) => Promise<void>;
  logger: Logger;
  /** Attempts of a batch failing with an unknown error before its messages are isolated (default 3). */
  unknownAttempts?: number;
  /** Called when a message is dead-lettered whole, with the class of the failure that isolated it (metrics). */
  onIsolated?: (info: { msg: JsMsg; err: unknown; failure: FailureClass | 'max_deliver' }) => void;
  /** Called after each handled batch with its size and duration (metrics). */
  onBatch?: (info: { messages: number; ms: number; ok: boolean }) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Stream sequences of settled messages remembered, to recognise late copies of them. */
const SETTLED_MEMORY = 10_000;

/** A running consumer loop. */
export class BatchConsumer {
  private readonly queue: JsMsg[] = [];
  /** Bytes of message data in `queue`. */
  private queuedBytes = 0;
  private wake: (() => void) | undefined;
  private spaceWake: (() => void) | undefined;
  private stopping = false;
  private iter: { stop(): void; close(): Promise<void | Error> } | undefined;
  private worker: Promise<void> | undefined;
  private pump: Promise<void> | undefined;
  /** True once the loop pulls messages (for /readyz). */
  running = false;
  /** Pulls re-issued at once after a message larger than the pull's room (see `unstall`). */
  unstalls = 0;
  /** The pump holds back because the queue is full (back-pressure). */
  private pumpWaits = false;
  /**
   * A 409 "message size exceeds maxbytes" came while back-pressure held the pump: the re-pull
   * (see `unstall`), made as soon as the pump takes messages again.
   */
  private repullOnResume: (() => Promise<boolean>) | undefined;
  /** How often held messages are reported in progress: a third of the consumer's ack wait. */
  private keepAliveMs = 1_000;
  /** Stream sequences this loop acked (handled or dead-lettered), oldest first. */
  private readonly settled = new Set<number>();
  /** When the current infrastructure outage began (first failed attempt), if one is going on. */
  private outageSince: number | undefined;

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
    const ackWaitNanos = (await consumer.info(true)).config.ack_wait ?? 0;
    if (ackWaitNanos > 0) this.keepAliveMs = Math.max(50, Math.floor(ackWaitNanos / 1e6 / 3));
    // Pulls expire after 10 s (nats.js: 30 s), so the idle heartbeat is 5 s and a pull lost with
    // a dead consumer leader (a JetStream cluster node killed) is re-issued after two missed
    // heartbeats, 10 s, instead of 30 s. Costs one pull request per 10 s per idle consumer.
    const messages = await consumer.consume(this.pullOptions());
    this.iter = messages;
    if (this.opts.maxBatchBytes !== undefined) void this.unstall(messages);
    return messages;
  }

  /**
   * A byte-bounded pull must not wait for missed heartbeats. nats.js (3.4) tops a byte-bounded
   * consume up also when few *messages* are outstanding, with whatever bytes are left: after an
   * idle spell those top-ups are small, the server answers a larger message with 409 "message
   * size exceeds maxbytes" and nats.js, holding nothing, waits for two missed heartbeats (10 s)
   * before pulling again, while everything behind that message queues up. Pull again at once
   * (what the missed-heartbeat recovery does, without the wait).
   */
  private async unstall(messages: ConsumerMessages): Promise<void> {
    const recover = (messages as unknown as { resetPending?: () => Promise<boolean> }).resetPending;
    if (typeof recover !== 'function') {
      this.opts.logger.warn(
        { durable: this.opts.durable },
        'nats.js has no resetPending: a pull held by a large message recovers after missed heartbeats',
      );
      return;
    }
    for await (const s of messages.status()) {
      if (this.stopping) break;
      // Only while this loop waits for messages: when it holds back (queue full, handler slow),
      // nats.js holds what it pulled and must not pull more (that would grow without bound).
      if (s.type !== 'exceeded_limits' || !/message size exceeds maxbytes/i.test(s.description)) continue;
      // nats.js still holding messages re-pulls on this 409 itself (its refill). Pulling again here
      // too reset its count of bytes pulled, forgetting that pull: one more pull per 409 while a
      // stage was behind, about 200 raw messages (70 MiB) held against a 4 MiB budget in the
      // transformer during a CDC snapshot (docs/PERFORMANCE.md, sixth round).
      if (((messages as unknown as { yields?: unknown[] }).yields?.length ?? 0) > 0) continue;
      if (this.pumpWaits || this.queueFull()) {
        // nats.js may be holding nothing and pulling nothing now; without this the pull would
        // wait for missed heartbeats once back-pressure lets go (the same 10 s stall).
        this.repullOnResume = () => recover.call(messages);
        continue;
      }
      this.unstalls++;
      this.opts.logger.debug({ durable: this.opts.durable }, 'a message was larger than the pull had room for; pulling again');
      await recover.call(messages);
    }
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
          this.queuedBytes += m.data.byteLength;
          this.wake?.();
          // Back-pressure: stop pulling while the queue is full (queueFull); the server holds the rest.
          while (this.queueFull() && !this.stopping) {
            this.pumpWaits = true;
            await new Promise<void>((r) => (this.spaceWake = r));
          }
          this.pumpWaits = false;
          const repull = this.repullOnResume;
          this.repullOnResume = undefined;
          if (repull && !this.stopping) {
            this.unstalls++;
            this.opts.logger.debug(
              { durable: this.opts.durable },
              'a message was larger than the pull had room for while the queue was full; pulling again',
            );
            await repull();
          }
        }
        if (!this.stopping) this.opts.logger.warn({ durable: this.opts.durable }, 'consumer iterator ended; binding again');
      } catch (err) {
        this.opts.logger.error({ err, durable: this.opts.durable, attempt }, 'consumer iterator failed; binding again');
      }
      messages = undefined;
      this.repullOnResume = undefined;
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
      if (this.opts.lingerMs) {
        await this.linger(this.opts.lingerMs);
        if (this.stopping) break; // stop() naks what is queued
      }
      const batch = this.queue.splice(0, this.batchLength());
      for (const m of batch) this.queuedBytes -= m.data.byteLength;
      this.spaceWake?.();
      this.spaceWake = undefined;
      await this.process(batch);
    }
  }

  /**
   * The pull: `maxBatch * 2` messages, or with a byte bound (nats.js takes one or the other) a
   * batch's bytes, topped up whenever a whole message fits again: a top-up is what was consumed,
   * so it must never be smaller than the largest message.
   */
  private pullOptions(): ConsumeOptions {
    const bytes = this.opts.maxBatchBytes;
    const expires = this.opts.pullExpiresMs ?? 10_000;
    if (bytes === undefined) return { max_messages: this.opts.maxBatch * 2, expires };
    // Subject and headers count too: room for them on top of the payload.
    const message = (this.opts.maxMessageBytes ?? 1024 * 1024) + 64 * 1024;
    const max = Math.max(bytes, message * 2);
    return { max_bytes: max, threshold_bytes: max - message, expires };
  }

  /** Whether two batches of messages, or one of bytes when bounded, are queued. */
  private queueFull(): boolean {
    const bytes = this.opts.maxBatchBytes;
    return this.queue.length >= this.opts.maxBatch * 2 || (bytes !== undefined && this.queuedBytes >= bytes);
  }

  /** How many queued messages the next batch takes: up to `maxBatch` and `maxBatchBytes`, at least one. */
  private batchLength(): number {
    const bytes = this.opts.maxBatchBytes;
    const most = Math.min(this.queue.length, this.opts.maxBatch);
    if (bytes === undefined) return most;
    let n = 1;
    let total = this.queue[0]?.data.byteLength ?? 0;
    while (n < most && total + this.queue[n]!.data.byteLength <= bytes) total += this.queue[n++]!.data.byteLength;
    return n;
  }

  /** Waits until a whole batch is queued, `ms` have passed, or the loop stops. */
  private async linger(ms: number): Promise<void> {
    const until = Date.now() + ms;
    const full = (): boolean =>
      this.queue.length >= this.opts.maxBatch || (this.opts.maxBatchBytes !== undefined && this.queuedBytes >= this.opts.maxBatchBytes);
    while (!full() && !this.stopping && Date.now() < until) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, until - Date.now());
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = undefined;
    }
  }

  private async process(taken: JsMsg[]): Promise<void> {
    // Late copies of settled messages are acked again and dropped; of two copies in one batch the
    // earlier delivery is kept (settling it settles the stream sequence), in stream order.
    const keep = new Map<number, JsMsg>();
    for (const m of taken) {
      const other = keep.get(m.seq);
      if (!other || m.info.deliveryCount < other.info.deliveryCount) keep.set(m.seq, m);
    }
    const batch = taken.filter((m) => {
      if (this.settled.has(m.seq)) m.ack();
      return !this.settled.has(m.seq) && keep.get(m.seq) === m;
    });
    const last = batch.filter((m) => m.info.deliveryCount >= this.opts.maxDeliver);
    for (const m of last) {
      await this.poison(
        m,
        'max_deliver',
        new Error(`delivered ${m.info.deliveryCount} times without success (max_deliver ${this.opts.maxDeliver})`),
      );
    }
    const todo = batch.filter((m) => m.info.deliveryCount < this.opts.maxDeliver);
    if (todo.length === 0) return;
    await this.attempt(todo);
  }

  /** Seconds the loop has been retrying an infrastructure failure (0 when it is not). */
  outageSeconds(): number {
    return this.outageSince === undefined ? 0 : (Date.now() - this.outageSince) / 1000;
  }

  /** Runs the handler, retrying transient failures and isolating poison. */
  private async attempt(msgs: JsMsg[]): Promise<void> {
    const backoff = this.opts.backoffMs ?? [100, 500, 2_000, 5_000, 15_000];
    const unknownAttempts = this.opts.unknownAttempts ?? 3;
    for (let attempt = 0, unknown = 0; ; attempt++) {
      const t0 = Date.now();
      try {
        await this.opts.handle(msgs);
        this.opts.onBatch?.({ messages: msgs.length, ms: Date.now() - t0, ok: true });
        this.outageSince = undefined;
        for (const m of msgs) this.settle(m);
        return;
      } catch (err) {
        this.opts.onBatch?.({ messages: msgs.length, ms: Date.now() - t0, ok: false });
        const failure = failureClass(err);
        if (failure === 'infrastructure') this.outageSince ??= t0;
        else this.outageSince = undefined;
        if (failure === 'infrastructure' || (failure === 'unknown' && ++unknown < unknownAttempts)) {
          if (this.stopping) {
            for (const m of msgs) m.nak();
            return;
          }
          const wait = backoff[Math.min(attempt, backoff.length - 1)]!;
          this.opts.logger.warn(
            { err, failure, attempt, waitMs: wait, messages: msgs.length },
            failure === 'infrastructure' ? 'transient failure; retrying batch' : 'unknown error; retrying batch',
          );
          await this.holdFor(wait, msgs);
          continue;
        }
        if (msgs.length > 1) {
          this.opts.logger.warn({ err, failure, messages: msgs.length }, 'batch failed; retrying its messages one by one');
          for (const m of msgs) await this.attempt([m]);
          return;
        }
        await this.poison(msgs[0]!, failure, err);
        return;
      }
    }
  }

  private async poison(msg: JsMsg, failure: FailureClass | 'max_deliver', err: unknown): Promise<void> {
    this.opts.logger.error(
      { err, failure, subject: msg.subject, seq: msg.seq, deliveries: msg.info.deliveryCount },
      'dead-lettering whole message',
    );
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.onPoison(msg, err);
        this.settle(msg);
        this.opts.onIsolated?.({ msg, err, failure });
        return;
      } catch (dlqErr) {
        // The DLQ itself is unavailable: keep the message (never drop it) and try again.
        if (this.stopping) {
          msg.nak();
          return;
        }
        this.opts.logger.warn({ err: dlqErr, attempt }, 'recording the poison message failed; retrying');
        await this.holdFor(Math.min(500 * 2 ** attempt, 10_000), [msg]);
      }
    }
  }

  /** Acks a message and remembers its sequence, so a late copy of it is recognised. */
  private settle(m: JsMsg): void {
    m.ack();
    this.settled.add(m.seq);
    if (this.settled.size > SETTLED_MEMORY) this.settled.delete(this.settled.values().next().value!);
  }

  /**
   * Waits `ms` before a retry while telling JetStream, every keep-alive period, that `msgs` and
   * the queued messages (held up by this retry) are still in progress, so none is redelivered.
   */
  private async holdFor(ms: number, msgs: JsMsg[]): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      for (const m of msgs) m.working();
      for (const m of this.queue) m.working();
      const left = until - Date.now();
      if (left <= 0 || this.stopping) return;
      await sleep(Math.min(left, this.keepAliveMs));
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
    this.queuedBytes = 0;
    this.running = false;
  }
}

/**
 * Publishes to JetStream with a bounded number of un-acked publishes in flight: callers start
 * many publishes and await their PubAcks together, never one at a time (docs/design.md, Wire contract).
 */
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { TributaryError } from '@tributary/contract/errors';

/** Options of one publish. */
export interface PublishOptions {
  /** Deterministic message ID (`Nats-Msg-Id`): the stream drops repeats inside its duplicate window. */
  msgId: string;
  headers: MsgHdrs;
  timeoutMs?: number;
}

/** Whether a publish error means the stream is full (limits reached, discard new). */
function isStreamFull(err: unknown): boolean {
  const text = String((err as Error)?.message ?? err);
  return /maximum (bytes|messages|msgs)|insufficient resources|storage/i.test(text);
}

/** A JetStream publisher with a cap on publishes in flight. */
export class Publisher {
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly tracer = trace.getTracer('tributary');

  constructor(
    private readonly js: JetStreamClient,
    private readonly maxInFlight = 256,
  ) {}

  /**
   * Starts a publish once a slot is free and resolves with its PubAck. A refusal becomes
   * TRIB_E_UNAVAILABLE (retryable) with `details.streamFull` when the stream hit its limits.
   */
  async publish(subject: string, data: Uint8Array, opts: PublishOptions): Promise<PubAck> {
    // First come, first sent: a publish waits behind every earlier waiter, and a freed slot passes
    // straight to the oldest one (a caller arriving meanwhile cannot overtake it). JetStream then
    // stores one caller's messages in the order it published them (the CDC snapshot relies on it).
    if (this.inFlight >= this.maxInFlight || this.waiters.length > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.inFlight++;
    const span = this.tracer.startSpan(`publish ${subject}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.destination.name': subject,
        'messaging.message.id': opts.msgId,
        'messaging.operation.type': 'publish',
        'messaging.message.body.size': data.byteLength,
      },
    });
    propagation.inject(trace.setSpan(context.active(), span), opts.headers, {
      set: (carrier, key, value) => carrier.set(key, value),
    });
    try {
      return await this.js.publish(subject, data, {
        msgID: opts.msgId,
        headers: opts.headers,
        timeout: opts.timeoutMs ?? 10_000,
      });
    } catch (err) {
      span.recordException(err as Error);
      const full = isStreamFull(err);
      throw new TributaryError('TRIB_E_UNAVAILABLE', `publish to ${subject} failed: ${(err as Error).message}`, {
        cause: err,
        location: { subject },
        details: { streamFull: full },
      });
    } finally {
      span.end();
      const next = this.waiters.shift();
      if (next) next();
      else this.inFlight--;
    }
  }

  /** Publishes are in flight right now (for metrics and tests). */
  get pending(): number {
    return this.inFlight;
  }
}

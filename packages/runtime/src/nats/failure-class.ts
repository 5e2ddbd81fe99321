/**
 * What kind of failure a consumer loop is looking at, which decides what it does next
 * (ARCHITECTURE.md, Failure handling in the consumer loop):
 * - `infrastructure`: JetStream, NATS or PostgreSQL unreachable or overloaded; retried for as long
 *   as it lasts (nothing is wrong with the data), with an alert past a threshold;
 * - `data`: one of our errors that says the input is bad; the message is isolated at once;
 * - `unknown`: anything else (a `TypeError` in a step, a bug): retried a bounded number of times,
 *   then the message is isolated with the error and its stack, so one bug cannot stall a pipeline.
 */
import { TributaryError } from '@tributary/contract/errors';

/** The three failure classes of a consumer loop. */
export type FailureClass = 'infrastructure' | 'data' | 'unknown';

/** Node system error codes of a network or resource outage. */
const SYSTEM_OUTAGE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EMFILE',
]);

/**
 * SQLSTATE classes of a PostgreSQL outage: 08 connection, 40 serialization failure or deadlock
 * (a retry succeeds), 53 insufficient resources, 57 operator intervention (shutdown), 58 system error.
 */
const SQLSTATE_OUTAGE = new Set(['08', '40', '53', '57', '58']);

/** nats.js error classes (by constructor name: the library exports no common base) of an outage. */
const NATS_OUTAGE = new Set([
  'ClosedConnectionError',
  'ConnectionError',
  'DrainingConnectionError',
  'NoRespondersError',
  'RequestError',
  'TimeoutError',
  'JetStreamNotEnabled',
]);

/** Classifies a thrown value (branching on codes and classes, never on message text). */
export function failureClass(err: unknown): FailureClass {
  if (err instanceof TributaryError) return err.retryable ? 'infrastructure' : 'data';
  if (typeof err !== 'object' || err === null) return 'unknown';
  const { code, name } = err as { code?: unknown; name?: unknown };
  if (typeof code === 'string') {
    if (SYSTEM_OUTAGE.has(code)) return 'infrastructure';
    if (/^[0-9A-Z]{5}$/.test(code) && SQLSTATE_OUTAGE.has(code.slice(0, 2))) return 'infrastructure';
  }
  if (typeof name === 'string' && NATS_OUTAGE.has(name)) return 'infrastructure';
  const ctor = (err as { constructor?: { name?: string } }).constructor?.name;
  if (ctor && NATS_OUTAGE.has(ctor)) return 'infrastructure';
  return 'unknown';
}

/**
 * Connects to NATS with reconnects forever, and names the connection after the service so it
 * shows up in `nats server report connections`.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { TributaryError } from '../errors';

/** Connects to NATS; the first connection failing is TRIB_E_UNAVAILABLE naming the URL. */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  try {
    return await connect({
      servers: url.split(',').map((s) => s.trim()),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      waitOnFirstConnect: false,
      timeout: 5_000,
    });
  } catch (err) {
    throw new TributaryError('TRIB_E_UNAVAILABLE', `cannot connect to NATS at ${url}: ${(err as Error).message}`, { cause: err });
  }
}

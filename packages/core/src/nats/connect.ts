/**
 * Connects to NATS with reconnects forever, names the connection after the service (it shows up
 * in `nats server report connections`), and tracks whether it is connected right now, so callers
 * can fail fast (503) instead of buffering publishes into a dead connection.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { TributaryError } from '../errors';

/** A NATS connection and its live state. */
export interface TrackedConnection {
  nc: NatsConnection;
  /** False between a disconnect and the next reconnect, and after close. */
  readonly connected: boolean;
}

/** Connects to NATS; the first connection failing is TRIB_E_UNAVAILABLE naming the URL. */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  return (await connectTracked(url, name)).nc;
}

/** Connects and tracks disconnects and reconnects. */
export async function connectTracked(url: string, name: string): Promise<TrackedConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({
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
  const state = { connected: true };
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnecting' || s.type === 'close') state.connected = false;
      else if (s.type === 'reconnect') state.connected = true;
    }
  })();
  void nc.closed().then(() => (state.connected = false));
  return {
    nc,
    get connected() {
      return state.connected && !nc.isClosed();
    },
  };
}

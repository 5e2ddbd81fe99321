/**
 * Connects to NATS with reconnects forever, names the connection after the service (it shows up
 * in `nats server report connections`), and tracks whether it is connected right now, so callers
 * can fail fast (503) instead of buffering publishes into a dead connection.
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { TributaryError } from '@tributary/contract/errors';

/**
 * How to authenticate to NATS, from the environment (see `natsAuthEnv`): user/password, token,
 * an nkey seed or a credentials (JWT) file, and TLS. Secrets may come from mounted files.
 */
export interface NatsAuth {
  NATS_USER?: string;
  NATS_PASSWORD?: string;
  NATS_PASSWORD_FILE?: string;
  NATS_TOKEN?: string;
  NATS_TOKEN_FILE?: string;
  NATS_NKEY_SEED_FILE?: string;
  NATS_CREDS_FILE?: string;
  NATS_TLS_CA_FILE?: string;
  NATS_TLS_CERT_FILE?: string;
  NATS_TLS_KEY_FILE?: string;
}

function secret(value: string | undefined, file: string | undefined, name: string): string | undefined {
  if (value) return value;
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new TributaryError('TRIB_E_CONFIG', `${name}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: err,
    });
  }
}

/** Connection options for the configured authentication and TLS (never logged). */
export function natsAuthOptions(auth: NatsAuth = {}): Partial<NodeConnectionOptions> {
  const out: Partial<NodeConnectionOptions> = {};
  const password = secret(auth.NATS_PASSWORD, auth.NATS_PASSWORD_FILE, 'NATS_PASSWORD_FILE');
  const token = secret(auth.NATS_TOKEN, auth.NATS_TOKEN_FILE, 'NATS_TOKEN_FILE');
  if (auth.NATS_USER) Object.assign(out, { user: auth.NATS_USER, pass: password ?? '' });
  if (token) out.token = token;
  if (auth.NATS_NKEY_SEED_FILE)
    out.authenticator = nkeyAuthenticator(new TextEncoder().encode(secret(undefined, auth.NATS_NKEY_SEED_FILE, 'NATS_NKEY_SEED_FILE')));
  if (auth.NATS_CREDS_FILE)
    out.authenticator = credsAuthenticator(new TextEncoder().encode(secret(undefined, auth.NATS_CREDS_FILE, 'NATS_CREDS_FILE')));
  if (auth.NATS_TLS_CA_FILE || auth.NATS_TLS_CERT_FILE) {
    out.tls = {
      ...(auth.NATS_TLS_CA_FILE ? { caFile: auth.NATS_TLS_CA_FILE } : {}),
      ...(auth.NATS_TLS_CERT_FILE ? { certFile: auth.NATS_TLS_CERT_FILE, keyFile: auth.NATS_TLS_KEY_FILE } : {}),
    };
  }
  return out;
}

/** A NATS connection and its live state. */
export interface TrackedConnection {
  nc: NatsConnection;
  /** False between a disconnect and the next reconnect, and after close. */
  readonly connected: boolean;
}

/** Connects to NATS; the first connection failing is TRIB_E_UNAVAILABLE naming the URL. */
export async function connectNats(url: string, name: string, auth?: NatsAuth): Promise<NatsConnection> {
  return (await connectTracked(url, name, auth)).nc;
}

/** Connects and tracks disconnects and reconnects. */
export async function connectTracked(url: string, name: string, auth?: NatsAuth): Promise<TrackedConnection> {
  let nc: NatsConnection;
  const options = natsAuthOptions(auth);
  try {
    nc = await connect({
      ...options,
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

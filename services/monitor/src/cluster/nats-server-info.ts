/**
 * Reachability of one NATS server: open its client port and read the `INFO {...}` line every
 * nats-server sends first, before any authentication or TLS upgrade. That names the server
 * (`server_name`), its version and cluster, with no credentials and no subscription, so the
 * monitor can tell which of the configured servers answer.
 *
 * Hand-written (twenty lines of `node:net`): a full client connection per server would need the
 * credentials and would reconnect to another server of the cluster instead of failing.
 */
import { connect } from 'node:net';

/** What a server says about itself in INFO (only the fields the monitor shows). */
export interface ServerInfo {
  server_name: string;
  version: string;
  /** Cluster name; absent on a server that is not clustered. */
  cluster?: string;
  jetstream?: boolean;
}

/** `host:port` of a NATS URL (`nats://user:pass@host:4222`, `tls://host`, `host:port`), credentials dropped. */
export function serverAddress(url: string): { host: string; port: number } {
  const parsed = new URL(/^[a-z]+:\/\//i.test(url) ? url : `nats://${url}`);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 4222) };
}

/** Connects to `url`'s client port and resolves with its INFO; rejects when it does not answer within `timeoutMs`. */
export function readServerInfo(url: string, timeoutMs: number): Promise<ServerInfo> {
  const { host, port } = serverAddress(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let buffered = '';
    const done = (err: Error | undefined, info?: ServerInfo): void => {
      socket.destroy();
      if (err) reject(err);
      else resolve(info!);
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no INFO from ${host}:${port} within ${timeoutMs} ms`)));
    socket.once('error', (err) => done(err));
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const end = buffered.indexOf('\r\n');
      if (end < 0) {
        if (buffered.length > 64 * 1024) done(new Error(`${host}:${port} sent no INFO line`));
        return;
      }
      const line = buffered.slice(0, end);
      if (!line.startsWith('INFO ')) return done(new Error(`${host}:${port} is not a NATS server (it sent "${line.slice(0, 40)}")`));
      try {
        done(undefined, JSON.parse(line.slice(5)) as ServerInfo);
      } catch {
        done(new Error(`${host}:${port} sent an unreadable INFO line`));
      }
    });
  });
}

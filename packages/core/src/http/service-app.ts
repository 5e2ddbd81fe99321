/**
 * The HTTP surface every service shares: `/healthz` (alive), `/readyz` (connected and ready,
 * with the reason when not), `/metrics` (Prometheus), and a listener that drains on close.
 */
import type { Server } from 'node:http';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';

/** A readiness probe: returns undefined when ready, or why not. */
export type ReadinessCheck = () => string | undefined | Promise<string | undefined>;

/** Creates an express app with the shared endpoints mounted. */
export function createServiceApp(opts: { registry: Registry; ready: ReadinessCheck }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const problem = await opts.ready();
    if (problem) res.status(503).json({ status: 'not ready', reason: problem });
    else res.json({ status: 'ready' });
  });
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', opts.registry.contentType);
    res.send(await opts.registry.metrics());
  });
  return app;
}

/** A listening HTTP server that can be closed gracefully. */
export interface Listener {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Listens on `host:port` (port 0 picks a free one). */
export function listen(app: Express, port: number, host = '0.0.0.0'): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => {
      if (err) return reject(err);
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      resolve({
        server,
        port: bound,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            // In-flight requests finish; idle keep-alive sockets would hold close() open.
            server.closeIdleConnections();
          }),
      });
    });
    // Longer than the idle timeouts of common load balancers and HTTP clients (undici: 4 s,
    // AWS ALB: 60 s), so the server never closes a kept-alive socket a client is about to reuse.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.on('error', reject);
  });
}

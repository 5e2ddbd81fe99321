/**
 * The HTTP surface every service shares: security headers on every response, `/healthz` (alive),
 * `/readyz` (connected and ready, with the reason when not), `/metrics` (Prometheus), and a
 * listener that serves HTTPS when a certificate is configured and drains on close.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import { TributaryError } from '@tributary/contract/errors';
import { securityHeaders } from './security-headers';

/** A readiness probe: returns undefined when ready, or why not. */
export type ReadinessCheck = () => string | undefined | Promise<string | undefined>;

/** Creates an express app with the shared endpoints mounted. */
export function createServiceApp(opts: { registry: Registry; ready: ReadinessCheck }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders());
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

/** TLS of the HTTP server: PEM files of the certificate (chain) and its key (the services' env variables). */
export interface HttpTlsFiles {
  HTTP_TLS_CERT_FILE?: string;
  HTTP_TLS_KEY_FILE?: string;
}

/** Reads the certificate and key; undefined when TLS is not configured, TRIB_E_CONFIG naming the variable when half or unreadable. */
export function readHttpTls(files: HttpTlsFiles): { cert: Buffer; key: Buffer } | undefined {
  const { HTTP_TLS_CERT_FILE: certFile, HTTP_TLS_KEY_FILE: keyFile } = files;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) {
    const missing = certFile ? 'HTTP_TLS_KEY_FILE' : 'HTTP_TLS_CERT_FILE';
    throw new TributaryError('TRIB_E_CONFIG', `invalid configuration:\n  ${missing}: required when the other HTTP_TLS_* file is set`);
  }
  const read = (variable: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new TributaryError('TRIB_E_CONFIG', `invalid configuration:\n  ${variable}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  return { cert: read('HTTP_TLS_CERT_FILE', certFile), key: read('HTTP_TLS_KEY_FILE', keyFile) };
}

/** Listens on `host:port` (port 0 picks a free one), over HTTPS when `tls` names a certificate and key. */
export async function listen(app: Express, port: number, host = '0.0.0.0', tls: HttpTlsFiles = {}): Promise<Listener> {
  const pem = readHttpTls(tls);
  return new Promise((resolve, reject) => {
    const server = pem ? createHttpsServer(pem, app) : createHttpServer(app);
    server.listen(port, host, () => {
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

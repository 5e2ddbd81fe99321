/**
 * The HTTP server every service shares, over real sockets: security headers on every response,
 * HTTPS with a certificate made by openssl for the test (and HSTS only there), and a clear
 * configuration error when the TLS files are half given or unreadable.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { createServiceApp, listen, type Listener } from '../src/http/service-app';
import { HSTS, PERMISSIONS_POLICY } from '../src/http/security-headers';

let dir: string;
let cert: string;
let key: string;
const open: Listener[] = [];

/** A service app with one JSON route, listening on a free loopback port. */
async function serve(tls = {}): Promise<Listener> {
  const app = createServiceApp({ registry: new Registry(), ready: () => undefined });
  app.get('/api/thing', (_req, res) => res.json({ ok: true }));
  const l = await listen(app, 0, '127.0.0.1', tls);
  open.push(l);
  return l;
}

/** GET over HTTPS trusting only the test's certificate. */
function getTls(port: number, p: string, ca: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: p, ca, servername: 'localhost' }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tributary-http-tls-'));
  cert = path.join(dir, 'cert.pem');
  key = path.join(dir, 'key.pem');
  // A self-signed certificate for this test only (node:crypto cannot make certificates).
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost'].concat([
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]),
    { stdio: 'ignore' },
  );
});

afterAll(async () => {
  await Promise.all(open.map((l) => l.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('security headers', () => {
  it('are on every response: API, health, metrics and unknown paths; no HSTS over plain HTTP', async () => {
    const l = await serve();
    for (const p of ['/api/thing', '/healthz', '/metrics', '/nowhere']) {
      const r = await fetch(`http://127.0.0.1:${l.port}${p}`);
      const h = Object.fromEntries(r.headers);
      expect({ path: p, ...h }).toMatchObject({
        path: p,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-resource-policy': 'same-origin',
        'permissions-policy': PERMISSIONS_POLICY,
        'cache-control': 'no-store',
      });
      expect(h['content-security-policy']).toContain("default-src 'none'");
      // express's own 404 page replaces the policy with just `default-src 'none'`; X-Frame-Options still denies framing.
      if (p !== '/nowhere') expect(h['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(h['strict-transport-security']).toBeUndefined();
      expect(h['x-powered-by']).toBeUndefined();
    }
  });
});

describe('HTTPS', () => {
  it('serves over TLS when HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE are set, with HSTS', async () => {
    const l = await serve({ HTTP_TLS_CERT_FILE: cert, HTTP_TLS_KEY_FILE: key });
    const r = await getTls(l.port, '/api/thing', readFileSync(cert));
    expect(r.status).toBe(200);
    expect(r.headers['strict-transport-security']).toBe(HSTS);
    expect(r.headers['x-frame-options']).toBe('DENY');
    // Plain HTTP to the TLS port gets no answer from the app.
    await expect(fetch(`http://127.0.0.1:${l.port}/healthz`).then((x) => x.status)).rejects.toThrow();
  });

  it('refuses half a TLS configuration or an unreadable file, naming the variable', async () => {
    await expect(serve({ HTTP_TLS_CERT_FILE: cert })).rejects.toMatchObject({
      code: 'TRIB_E_CONFIG',
      message: expect.stringContaining('HTTP_TLS_KEY_FILE: required'),
    });
    await expect(serve({ HTTP_TLS_CERT_FILE: path.join(dir, 'missing.pem'), HTTP_TLS_KEY_FILE: key })).rejects.toMatchObject({
      code: 'TRIB_E_CONFIG',
      message: expect.stringContaining('HTTP_TLS_CERT_FILE: cannot read'),
    });
  });
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RestHttpClient, retryAfterMs } from './http-client';

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.UTC(2025, 0, 1, 0, 0, 0);
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10_000);
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });
});

describe('RestHttpClient', () => {
  const connection = {
    kind: 'http' as const,
    base_url: 'https://api.example.com',
    headers: {},
    timeout: '5s',
    auth: { type: 'api_key' as const, in: 'query' as const, name: 'appid', secret: 'env:K' },
  };
  const client = new RestHttpClient({
    connection,
    retry: { attempts: 1, initial: 1, max: 1 },
    signal: new AbortController().signal,
    env: { K: 's3cr3t' },
  });

  it('describes a request with its key masked, whether or not it is in the URL yet', () => {
    expect(client.describe('GET', new URL('https://api.example.com/w?lat=1'))).toBe('GET https://api.example.com/w?lat=1&appid=***');
    expect(client.describe('GET', new URL('https://api.example.com/w?appid=s3cr3t'))).toBe('GET https://api.example.com/w?appid=***');
  });

  it('removes the secret from any text (APIs echo keys in error messages)', () => {
    expect(client.redact('invalid key s3cr3t, see docs')).toBe('invalid key ***, see docs');
  });

  it('fails with TRIB_E_CONFIG naming the variable, never a value, when the secret is missing', () => {
    expect(
      () => new RestHttpClient({ connection, retry: { attempts: 1, initial: 1, max: 1 }, signal: new AbortController().signal, env: {} }),
    ).toThrow(/secret env:K: environment variable K is not set/);
  });
});

describe('RestHttpClient against a server that cuts a response mid-body', () => {
  it('retries the request like any network error and returns the whole page (found by the chaos suite)', async () => {
    let requests = 0;
    const page = JSON.stringify({ items: Array.from({ length: 50 }, (_, i) => ({ id: i })) });
    const server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      if (requests === 1) {
        // Half the body, then the connection dies (chunked, so the client cannot know the length).
        res.write(page.slice(0, page.length / 2));
        setTimeout(() => res.socket?.destroy(), 10);
      } else res.end(page);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const attempts: string[] = [];
    const client = new RestHttpClient({
      connection: { kind: 'http', base_url: base, headers: {}, timeout: '5s' },
      retry: { attempts: 3, initial: 1, max: 1 },
      signal: new AbortController().signal,
      onAttempt: (status) => attempts.push(status),
    });
    try {
      const res = await client.send('GET', new URL(`${base}/items`), {});
      expect(res.text).toBe(page);
      expect(attempts).toEqual(['error', '200']);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

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

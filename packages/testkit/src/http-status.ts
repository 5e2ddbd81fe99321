import { get } from 'node:http';

/**
 * GETs `url` and resolves with the HTTP status code (the body is read and discarded); rejects
 * on connection errors or after `timeoutMs`.
 *
 * Uses `node:http` with `agent: false` rather than `fetch`: readiness polls would otherwise
 * leave keep-alive sockets in undici's pool, which jest reports as open handles.
 */
export function httpStatus(url: string, timeoutMs = 2_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
      response.once('error', reject);
    });
    request.once('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    request.once('error', reject);
  });
}

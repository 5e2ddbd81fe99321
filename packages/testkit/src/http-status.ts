import { get } from 'node:http';

/** Status code and body text of a GET. */
export interface HttpReply {
  status: number;
  body: string;
}

/**
 * GETs `url` and resolves with the HTTP status code and the body as text; rejects on connection
 * errors or after `timeoutMs`.
 *
 * Uses `node:http` with `agent: false` rather than `fetch`: readiness polls would otherwise
 * leave keep-alive sockets in undici's pool, which jest reports as open handles.
 */
export function httpGet(url: string, timeoutMs = 2_000): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.once('error', reject);
    });
    request.once('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    request.once('error', reject);
  });
}

/** GETs `url` and resolves with the HTTP status code (the body is read and discarded); see {@link httpGet}. */
export async function httpStatus(url: string, timeoutMs = 2_000): Promise<number> {
  return (await httpGet(url, timeoutMs)).status;
}

/**
 * POSTs JSON and fails on anything but a 2xx answer, within a timeout, so a hung receiver cannot
 * hold notifications back.
 */

/** POSTs `body` as JSON to `url`. */
export async function postJson(url: string, body: unknown, timeoutMs = 10_000): Promise<void> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (r.status < 200 || r.status >= 300) {
    const text = await r.text().catch(() => '');
    throw new Error(`${new URL(url).host} answered ${r.status}: ${text.slice(0, 200)}`);
  }
  await r.arrayBuffer().catch(() => undefined);
}

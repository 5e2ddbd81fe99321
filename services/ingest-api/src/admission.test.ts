import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { isTributaryError } from '@tributary/contract/errors';
import { bodyAdmission } from './admission';

/**
 * A real HTTP server with the admission middleware in front of a handler that holds each
 * request until the test releases it, so "in progress" is under the test's control.
 */
async function serve(budget: number, maxBody: number) {
  const admission = bodyAdmission(budget, maxBody);
  const held: (() => void)[] = [];
  const app = express();
  app.post('/', admission.middleware, express.raw({ type: () => true, limit: maxBody }), (req: Request, res: Response) => {
    held.push(() => res.status(202).json({ bytes: (req.body as Buffer).length }));
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(isTributaryError(err) ? err.status : 500).json({ code: isTributaryError(err) ? err.code : 'other' });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    admission,
    url,
    /** Waits until `n` requests are held by the handler. */
    async held(n: number): Promise<void> {
      while (held.length < n) await new Promise((r) => setTimeout(r, 5));
    },
    releaseAll(): void {
      for (const r of held.splice(0)) r();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('bodyAdmission', () => {
  it('refuses a body that would exceed the budget with 503 TRIB_E_UNAVAILABLE, and admits again once bodies are done', async () => {
    const s = await serve(1_000, 10_000);
    try {
      const first = fetch(s.url, { method: 'POST', body: 'x'.repeat(600) });
      await s.held(1);
      expect(s.admission.pendingBytes()).toBe(600);
      const refused = await fetch(s.url, { method: 'POST', body: 'y'.repeat(600) });
      expect(refused.status).toBe(503);
      expect(await refused.json()).toEqual({ code: 'TRIB_E_UNAVAILABLE' });
      // A small one still fits beside the first.
      const small = fetch(s.url, { method: 'POST', body: 'z'.repeat(300) });
      await s.held(2);
      expect(s.admission.pendingBytes()).toBe(900);
      s.releaseAll();
      expect((await first).status).toBe(202);
      expect((await small).status).toBe(202);
      expect(s.admission.pendingBytes()).toBe(0);
      const again = fetch(s.url, { method: 'POST', body: 'y'.repeat(600) });
      await s.held(1);
      s.releaseAll();
      expect(await (await again).json()).toEqual({ bytes: 600 });
    } finally {
      s.releaseAll();
      await s.close();
    }
  });

  it('admits a body larger than the budget when nothing else is held, so it is never starved', async () => {
    const s = await serve(1_000, 10_000);
    try {
      const big = fetch(s.url, { method: 'POST', body: 'x'.repeat(5_000) });
      await s.held(1);
      expect(s.admission.pendingBytes()).toBe(5_000);
      s.releaseAll();
      expect(await (await big).json()).toEqual({ bytes: 5_000 });
    } finally {
      await s.close();
    }
  });

  it('reserves the largest allowed body for a request without Content-Length, and releases it when the client goes away', async () => {
    const s = await serve(1_000, 800);
    try {
      const controller = new AbortController();
      const body = new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode('partial'));
          // The stream stays open: the request is in progress until the client aborts.
        },
      });
      const chunked = fetch(s.url, { method: 'POST', body, signal: controller.signal, duplex: 'half' } as RequestInit).then(
        () => 'answered',
        (e: Error) => e.name,
      );
      while (s.admission.pendingBytes() === 0) await new Promise((r) => setTimeout(r, 5));
      expect(s.admission.pendingBytes()).toBe(800);
      controller.abort();
      expect(await chunked).toBe('AbortError');
      while (s.admission.pendingBytes() !== 0) await new Promise((r) => setTimeout(r, 5));
    } finally {
      s.releaseAll();
      await s.close();
    }
  });
});

/**
 * Admission control for request bodies: a budget of body bytes the process holds at once
 * (received, being parsed, or being published). A request that would exceed it is refused with
 * 503 and Retry-After before its body is read, so a burst of large uploads slows clients down
 * instead of growing memory until the process dies. The reservation is the declared
 * Content-Length, or the largest allowed body when the length is not declared (chunked).
 * A request arriving while nothing is held is always admitted, so a body larger than the
 * budget (but within the body limit) still gets through on its own.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { TributaryError } from '@tributary/contract/errors';

/** The middleware, and the bytes it currently holds (for a gauge). */
export interface Admission {
  middleware: RequestHandler;
  pendingBytes(): number;
}

/** Admits request bodies while fewer than `budgetBytes` are held; `maxBodyBytes` is the reservation of an undeclared length. */
export function bodyAdmission(budgetBytes: number, maxBodyBytes: number): Admission {
  let pending = 0;
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const declared = Number(req.get('content-length'));
    const reserve = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, maxBodyBytes) : maxBodyBytes;
    if (pending > 0 && pending + reserve > budgetBytes) {
      // The body is not read: close the connection rather than leave it in an unknown state.
      res.set('Connection', 'close');
      next(
        new TributaryError(
          'TRIB_E_UNAVAILABLE',
          `ingest is busy: ${pending} bytes of request bodies in progress (budget ${budgetBytes}); retry later`,
          { details: { overloaded: true } },
        ),
      );
      return;
    }
    pending += reserve;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      pending -= reserve;
    };
    res.once('finish', release);
    res.once('close', release);
    next();
  };
  return { middleware, pendingBytes: () => pending };
}

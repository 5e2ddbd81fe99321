/**
 * A small REST API for the chaos run's `rest` source, with a fault switch: `GET /items` lists the
 * items updated in `(updated_after, updated_before)` (both exclusive, ISO times), oldest first,
 * by `offset`/`limit` with the `total`. Items are appended while the run goes on, each stamped
 * with the time it was added (strictly increasing), as a real API would: a window planned before
 * an item existed can never contain it, so every page of a planned window answers the same.
 *
 * `cut(n)` arms the next `n` answers to be cut mid-page: the status line, headers and half of the
 * body are sent (chunked), then the socket is destroyed, as when a proxy or the API dies mid-response.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One item. */
export interface Item {
  id: string;
  seq: number;
  updated_at: string;
}

/** The API server. */
export class PagedApi {
  readonly items: Item[] = [];
  /** Answers cut mid-body so far, and pages answered whole. */
  cutsDone = 0;
  pagesServed = 0;
  private armed = 0;
  private last = 0;
  private readonly server: Server;

  private constructor() {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://api');
      if (url.pathname !== '/items') return this.send(res, 404, { message: 'not found' });
      const after = Date.parse(url.searchParams.get('updated_after') ?? '') || -Infinity;
      const before = Date.parse(url.searchParams.get('updated_before') ?? '') || Infinity;
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const matching = this.items.filter((it) => {
        const t = Date.parse(it.updated_at);
        return t > after && t < before;
      });
      const body = JSON.stringify({ items: matching.slice(offset, offset + limit), total: matching.length });
      if (this.armed > 0) {
        this.armed--;
        this.cutsDone++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(body.slice(0, Math.floor(body.length / 2)));
        // Let the half page reach the client, then drop the connection without finishing the body.
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      this.pagesServed++;
      this.send(res, 200, body);
    });
  }

  /** Listens on a free loopback port. */
  static async start(): Promise<PagedApi> {
    const api = new PagedApi();
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    return api;
  }

  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds `n` items stamped now (each at least 1 ms after the previous one). */
  append(n: number): void {
    for (let i = 0; i < n; i++) {
      this.last = Math.max(Date.now(), this.last + 1);
      const seq = this.items.length + 1;
      this.items.push({ id: `item-${String(seq).padStart(7, '0')}`, seq, updated_at: new Date(this.last).toISOString() });
    }
  }

  /** Cuts the next `n` answers mid-body. */
  cut(n: number): void {
    this.armed += n;
  }

  /** Answers still to be cut. */
  get cutsPending(): number {
    return this.armed;
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  /** Closes the server and its connections. */
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

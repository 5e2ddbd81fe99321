/**
 * The dashboard's live updates as server-sent events (`GET /api/live`): every `intervalMs` while
 * at least one client listens, one `overview` event with the whole overview (a few KB), so a
 * client that reconnects is current at once and no event needs replaying. Browsers reconnect
 * EventSource streams by themselves; `retry` tells them how soon.
 */
import { PeriodicTask } from '@tributary/runtime/periodic-task';
import { type Logger } from '@tributary/runtime/logger';
import type { Request, Response } from 'express';

/** Server-sent event broadcaster. */
export class LiveFeed {
  private readonly clients = new Set<Response>();
  /** Sends while at least one client listens; a new one after a pause. */
  private task: PeriodicTask | undefined;
  private busy = false;

  constructor(
    private readonly build: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Number of connected clients (metrics). */
  get size(): number {
    return this.clients.size;
  }

  /** Handles `GET /api/live`: keeps the response open and sends events until the client leaves. */
  attach(req: Request, res: Response): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies such as nginx buffer responses unless told not to, which would hold events back.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${Math.max(1000, this.intervalMs)}\n\n`);
    this.clients.add(res);
    req.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.pause();
    });
    void this.send([res]);
    this.resume();
  }

  private resume(): void {
    if (this.task) return;
    this.task = new PeriodicTask({
      intervalMs: this.intervalMs,
      run: () => this.send([...this.clients]),
      onError: (err) => this.logger.warn({ err }, 'live feed: cannot send'),
    });
    this.task.start();
  }

  private pause(): void {
    void this.task?.stop();
    this.task = undefined;
  }

  private async send(to: Response[]): Promise<void> {
    if (to.length === 0 || this.busy) return;
    this.busy = true;
    let frame: string;
    try {
      frame = `event: overview\ndata: ${JSON.stringify(await this.build())}\n\n`;
    } catch (err) {
      this.logger.warn({ err }, 'live feed: cannot build the overview');
      frame = `event: problem\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`;
    } finally {
      this.busy = false;
    }
    for (const res of to) if (!res.writableEnded) res.write(frame);
  }

  /** Ends every stream (so the HTTP server can close) and stops the timer. */
  close(): void {
    this.pause();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}

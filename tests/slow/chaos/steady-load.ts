/**
 * Steady load on every source kind of a chaos or soak run at once: a push client posting batches
 * of passages at a fixed rate (the pipeline's generator runs inside the ingest-api), the bank's
 * writer committing transactions that change data capture picks up, and items appearing in the
 * paged REST API. The push client behaves as the API docs ask: it retries a batch with the same
 * Idempotency-Key until it gets 202, waiting as long as `Retry-After` says; every answer it got
 * is counted, so the run can check that overload and outages were 503/429 with `Retry-After`,
 * never a 500.
 */
import { ndjson } from '../../e2e/passages';
import type { Stack } from '../../e2e/stack';
import type { BankDatabase } from './bank-database';
import type { PagedApi } from './paged-api';

/** The first event number of the client's passages (`e-5000000` on): apart from the generator's. */
export const FIRST_PUSHED = 5_000_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the push client saw. */
export interface PushStats {
  /** Records acknowledged with 202 (from FIRST_PUSHED on, in order). */
  pushed: number;
  /** Answers by HTTP status (0: no answer: connection refused or reset). */
  statuses: Map<number, number>;
  /** 503 and 429 answers without a Retry-After header. */
  withoutRetryAfter: number;
  /** The first time the client got a 503 because the stream was full (its error names it). */
  streamFullAt?: number;
  /** 503 answers saying the stream is full. */
  streamFull: number;
  /** The first few answers other than 202, 503 and 429, with their bodies (for the report). */
  unexpected: string[];
}

/** Load options. */
export interface SteadyLoadOptions {
  /** Push client records per second (in batches of `batch`). */
  pushRate: number;
  batch?: number;
  /** Bank transactions: the pause between two. */
  bankPauseMs?: number;
  /** REST items added per second. */
  itemsPerSecond?: number;
}

/** The load of a run; `start()` begins it, `stop()` ends it and waits for the loops. */
export class SteadyLoad {
  readonly push: PushStats = { pushed: 0, statuses: new Map(), withoutRetryAfter: 0, streamFull: 0, unexpected: [] };
  private stopping = false;
  private loops: Promise<void>[] = [];
  private appender?: NodeJS.Timeout;

  constructor(
    private readonly stack: Stack,
    private readonly bank: BankDatabase,
    private readonly api: PagedApi,
    private readonly opts: SteadyLoadOptions,
  ) {}

  /** Starts every load loop. */
  start(random: () => number): void {
    this.stopping = false;
    this.loops.push(this.pushLoop());
    this.bank.startWriter(random, this.opts.bankPauseMs ?? 15);
    const perTick = Math.max(1, Math.round((this.opts.itemsPerSecond ?? 20) / 10));
    this.appender = setInterval(() => this.api.append(perTick), 100);
  }

  /** Stops the load: the batch in hand is retried until acknowledged, the writer commits its last transaction. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.appender);
    await Promise.all([...this.loops, this.bank.stopWriter()]);
    this.loops = [];
  }

  private count(status: number): void {
    this.push.statuses.set(status, (this.push.statuses.get(status) ?? 0) + 1);
  }

  private async pushLoop(): Promise<void> {
    const batch = this.opts.batch ?? 500;
    for (let first = FIRST_PUSHED + this.push.pushed; !this.stopping; first += batch) {
      const began = Date.now();
      for (;;) {
        const r = await this.stack.push('gantry', ndjson(first, batch), { 'idempotency-key': `chaos-${first}` }).catch(() => undefined);
        this.count(r?.status ?? 0);
        if (r?.status === 202) break;
        let waitMs = 200;
        if (r && r.status !== 503 && r.status !== 429 && this.push.unexpected.length < 5) {
          this.push.unexpected.push(`${new Date().toISOString().slice(11, 23)} ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
        }
        if (r?.status === 503 || r?.status === 429) {
          const after = Number(r.headers.get('retry-after'));
          if (!(after > 0)) this.push.withoutRetryAfter++;
          else waitMs = after * 1000;
          if (/full|maximum/i.test(JSON.stringify(r.json))) {
            this.push.streamFull++;
            this.push.streamFullAt ??= Date.now();
          }
        }
        await sleep(waitMs);
      }
      this.push.pushed = first + batch - FIRST_PUSHED;
      // Keep to the rate, without catching up after an outage (that would be a burst, not steady load).
      await sleep(Math.max(0, began + (batch / this.opts.pushRate) * 1000 - Date.now()));
    }
  }
}

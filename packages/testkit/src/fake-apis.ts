/**
 * A local HTTP server standing in for the third-party APIs of the example pipelines (there is no
 * internet here): Ticketmaster Discovery (`/discovery/v2/events.json`), OpenWeatherMap
 * (`/data/2.5/weather`, `/data/2.5/forecast`, `/data/3.0/onecall/timemachine`) and Tomorrow.io
 * (`/v4/weather/forecast`), answering pages shaped like their documented responses, plus
 * `/generic/{offset,cursor,link}` lists that exercise the other pagination kinds.
 *
 * Tests queue faults per path (`inject`): a 429 with `Retry-After`, a 500, a malformed (truncated)
 * page; each is used by the next matching request. Every request is logged for assertions.
 * Options make it drift from the documented API the way real ones do: Ticketmaster ignoring
 * `endDateTime` (`ignoreEndBound`) with a paging depth cap (`maxDepth`), a quota counted over a
 * sliding window (`rateLimit`: 429 with `Retry-After` and `X-RateLimit-*` headers), endpoints
 * that do not exist for this key (`missing`: 404).
 * Same request, same answer: data derive from a seed and the request's parameters.
 *
 * Longer than 300 lines because it is one stand-in server for four APIs (their data shapes are in
 * fake-api-data.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FAKE_VENUES, owmCurrent, owmForecast, owmTimemachine, prng, ticketmasterEvent, tomorrowForecast } from './fake-api-data';

/** A fault answered instead of the real page. */
export type FakeFault =
  | { status: 429; retryAfter?: string }
  | { status: 500 | 502 | 503 }
  | { malformed: true }
  | { status: 200; body: string }
  /** Answers normally once `hold` settles: lets a test act (e.g. SIGKILL a client) while a request is open. */
  | { hold: Promise<unknown> }
  /** Answers normally (to target a fault at a later request). */
  | { pass: true };

/** One request the server received. */
export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  at: number;
  /** The status answered. */
  status: number;
}

/** Options of the fake APIs. */
export interface FakeApisOptions {
  /** When set, requests must carry this key (`apikey`/`appid` query parameter), else 401. */
  apiKey?: string;
  /** Number of Ticketmaster events, spread evenly over [now - pastDays, now + futureDays). */
  events?: number;
  pastDays?: number;
  futureDays?: number;
  /** Items in each `/generic/*` list. */
  genericItems?: number;
  /** "Now" of the data (ms); the real clock by default. */
  now?: number;
  /** Ticketmaster ignores `endDateTime` (returns everything from `startDateTime` on). */
  ignoreEndBound?: boolean;
  /** Ticketmaster's paging depth: `page * size` must stay below it (400 DIS1035); 1000 by default. */
  maxDepth?: number;
  /**
   * At most `requests` per `perMs`, counted over a sliding window of the requests answered (a
   * 429 does not count): more gets 429 with `Retry-After` and `X-RateLimit-*` headers.
   */
  rateLimit?: { requests: number; perMs: number };
  /** Paths answered 404 (an endpoint the key has no subscription for). */
  missing?: string[];
  seed?: number;
}

const hash = (s: string): number => [...s].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, 7);

/** The fake API server. `start()` listens on a free loopback port. */
export class FakeApis {
  /** Every request received, oldest first. */
  readonly requests: FakeRequest[] = [];
  private readonly faults = new Map<string, FakeFault[]>();
  private server?: Server;
  private readonly now: number;
  private readonly events: Record<string, unknown>[];
  private genericTotal: number;
  /** When each request counted by `rateLimit` was answered (ms), oldest first. */
  private readonly answered: number[] = [];

  constructor(private readonly opts: FakeApisOptions = {}) {
    this.now = opts.now ?? Date.now();
    const n = opts.events ?? 53;
    const past = (opts.pastDays ?? 30) * 86_400_000;
    const span = past + (opts.futureDays ?? 60) * 86_400_000;
    this.genericTotal = opts.genericItems ?? 25;
    const rnd = prng(opts.seed ?? 1);
    // Whole seconds, as Ticketmaster's dateTime has no fraction.
    this.events = Array.from({ length: n }, (_, i) =>
      ticketmasterEvent(i, Math.floor((this.now - past + (i * span) / n) / 1000) * 1000, rnd),
    );
  }

  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) throw new Error('FakeApis is not started');
    return `http://127.0.0.1:${a.port}`;
  }

  /** The Ticketmaster events the server holds (for assertions). */
  get allEvents(): readonly Record<string, unknown>[] {
    return this.events;
  }

  /** Fields added to every `/generic/*` item from now on (an API that gained fields), by the item's index. */
  genericExtra: ((i: number) => Record<string, unknown>) | undefined;

  /** Adds `n` items to the `/generic/*` lists (newer than every item before them). */
  addGenericItems(n: number): void {
    this.genericTotal += n;
  }

  /** Number of items in the `/generic/*` lists. */
  get genericItems(): number {
    return this.genericTotal;
  }

  /** Queues faults answered, in order, to the next requests whose path starts with `path`. */
  inject(path: string, ...faults: FakeFault[]): void {
    this.faults.set(path, [...(this.faults.get(path) ?? []), ...faults]);
  }

  /** Requests answered 429 by the `rateLimit` quota (not injected faults). */
  rateLimited = 0;

  /** Requests whose path starts with `path`. */
  requestsTo(path: string): FakeRequest[] {
    return this.requests.filter((r) => r.path.startsWith(path));
  }

  /** Listens on `port` (0: a free one) on 127.0.0.1. */
  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return this;
  }

  /** Closes the server and its connections. */
  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const entry: FakeRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      headers: req.headers,
      at: Date.now(),
      status: 200,
    };
    this.requests.push(entry);
    let send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (this.opts.rateLimit) {
      const { requests, perMs } = this.opts.rateLimit;
      const now = Date.now();
      while (this.answered.length > 0 && this.answered[0]! <= now - perMs) this.answered.shift();
      const limitHeaders = {
        'x-ratelimit-limit': String(requests),
        'x-ratelimit-remaining': String(Math.max(0, requests - this.answered.length - 1)),
      };
      if (this.answered.length >= requests) {
        this.rateLimited++;
        const wait = Math.max(1, this.answered[0]! + perMs - now);
        return send(
          429,
          { fault: { faultstring: 'Rate limit quota violation', detail: { errorcode: 'policies.ratelimit.QuotaViolation' } } },
          {
            ...limitHeaders,
            'x-ratelimit-remaining': '0',
            'retry-after': String(Math.ceil(wait / 1000)),
            'x-ratelimit-reset': String(Math.ceil((now + wait) / 1000)),
          },
        );
      }
      this.answered.push(now);
      const plain = send;
      send = (status, body, headers = {}) => plain(status, body, { ...limitHeaders, ...headers });
    }
    if (this.opts.missing?.some((p) => url.pathname.startsWith(p)))
      return send(404, { cod: 404, message: `no such endpoint ${url.pathname}` });
    const key = [...this.faults.keys()].find((p) => url.pathname.startsWith(p));
    const fault = key ? this.faults.get(key)!.shift() : undefined;
    if (fault && 'pass' in fault) return this.answer(url, query, req.headers.authorization, send);
    if (fault && 'hold' in fault) {
      void fault.hold.finally(() => this.answer(url, query, req.headers.authorization, send));
      return;
    }
    if (fault) {
      if ('malformed' in fault) return send(200, '{"_embedded": {"events": [{"name": "trunc');
      if (fault.status === 429) return send(429, { message: 'Too Many Requests' }, { 'retry-after': fault.retryAfter ?? '1' });
      if (fault.status === 200) return send(200, fault.body);
      return send(fault.status, { message: 'Internal Server Error' });
    }
    this.answer(url, query, req.headers.authorization, send);
  }

  private answer(
    url: URL,
    query: Record<string, string>,
    authorization: string | undefined,
    send: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ): void {
    const bearer = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    const given = query.apikey ?? query.appid ?? bearer;
    if (!given || (this.opts.apiKey !== undefined && given !== this.opts.apiKey)) {
      return send(401, { fault: { faultstring: 'Invalid ApiKey', detail: { errorcode: 'oauth.v2.InvalidApiKey' } } });
    }
    const rnd = prng(hash(`${url.pathname}?${[...url.searchParams].filter(([k]) => k !== 'apikey' && k !== 'appid').join('&')}`));
    const lat = Number(query.lat ?? query.location?.split(',')[0] ?? FAKE_VENUES[0].lat);
    const lon = Number(query.lon ?? query.location?.split(',')[1] ?? FAKE_VENUES[0].lon);
    switch (url.pathname) {
      case '/discovery/v2/events.json':
        return this.ticketmaster(url, send);
      case '/data/2.5/weather':
        return send(200, owmCurrent(lat, lon, this.now, rnd));
      case '/data/2.5/forecast':
        return send(200, owmForecast(lat, lon, this.now, rnd, Number(query.cnt ?? 40)));
      case '/data/3.0/onecall/timemachine':
        if (!query.dt) return send(400, { cod: '400', message: 'dt is required' });
        return send(200, owmTimemachine(lat, lon, Number(query.dt), rnd));
      case '/v4/weather/forecast':
        return send(200, tomorrowForecast(lat, lon, this.now, rnd, (query.timesteps ?? '1h,1d').split(',')));
      case '/generic/offset':
      case '/generic/cursor':
      case '/generic/link':
        return this.generic(url, send);
      default:
        return send(404, { message: `no such endpoint ${url.pathname}` });
    }
  }

  /** Ticketmaster: `startDateTime`/`endDateTime` filter, `page` (0-based) and `size`, `page` block and `_links.next`. */
  private ticketmaster(url: URL, send: (s: number, b: unknown) => void): void {
    const q = url.searchParams;
    const from = q.get('startDateTime') ? Date.parse(q.get('startDateTime')!) : -Infinity;
    const to = q.get('endDateTime') && !this.opts.ignoreEndBound ? Date.parse(q.get('endDateTime')!) : Infinity;
    const size = Number(q.get('size') ?? 20);
    const page = Number(q.get('page') ?? 0);
    // The real API refuses to page deeper than 1000 results.
    if (size * page >= (this.opts.maxDepth ?? 1000))
      return send(400, {
        errors: [{ code: 'DIS1035', detail: 'API Limits Exceeded: Max paging depth exceeded. (page * size) must be less than 1,000' }],
      });
    const matching = this.events.filter((e) => {
      const t = Date.parse((e.dates as { start: { dateTime: string } }).start.dateTime);
      return t >= from && t < to;
    });
    const totalPages = Math.ceil(matching.length / size);
    const items = matching.slice(page * size, (page + 1) * size);
    const link = (p: number): { href: string } => {
      const u = new URL(url);
      // The key stays in the link, as some APIs echo every query parameter: clients must keep it out of what they store.
      u.searchParams.set('page', String(p));
      return { href: `${u.pathname}?${u.searchParams}` };
    };
    send(200, {
      // Like the real API, `_embedded` is left out when nothing matches.
      ...(items.length > 0 ? { _embedded: { events: items } } : {}),
      _links: { self: link(page), ...(page + 1 < totalPages ? { next: link(page + 1) } : {}) },
      page: { size, totalElements: matching.length, totalPages, number: page },
    });
  }

  /** `/generic/offset` (`offset`, `limit`, `total`), `/generic/cursor` (`cursor` → `next_cursor`), `/generic/link` (`page`, `Link` header). */
  private generic(url: URL, send: (s: number, b: unknown, h?: Record<string, string>) => void): void {
    const total = this.genericTotal;
    // Item i was updated i minutes after a base ten days back: added items are newer, still past.
    const base = this.now - 10 * 86_400_000;
    const extra = this.genericExtra;
    const item = (i: number) => ({
      id: `item-${String(i).padStart(4, '0')}`,
      n: i,
      updated_at: new Date(base + i * 60_000).toISOString(),
      ...extra?.(i),
    });
    const q = url.searchParams;
    if (url.pathname === '/generic/offset') {
      // `updated_after` and `updated_before` (both exclusive) select a time window.
      const after = q.get('updated_after') ? Date.parse(q.get('updated_after')!) : -Infinity;
      const before = q.get('updated_before') ? Date.parse(q.get('updated_before')!) : Infinity;
      const all = Array.from({ length: total }, (_, i) => item(i)).filter(
        (it) => Date.parse(it.updated_at) > after && Date.parse(it.updated_at) < before,
      );
      const offset = Number(q.get('offset') ?? 0);
      const limit = Number(q.get('limit') ?? 10);
      return send(200, { items: all.slice(offset, offset + limit), total: all.length });
    }
    if (url.pathname === '/generic/cursor') {
      const at = q.get('cursor') ? Number(Buffer.from(q.get('cursor')!, 'base64url').toString()) : 0;
      const end = Math.min(total, at + 10);
      const next = end < total ? Buffer.from(String(end)).toString('base64url') : null;
      return send(200, { data: Array.from({ length: end - at }, (_, i) => item(at + i)), next_cursor: next });
    }
    const page = Number(q.get('page') ?? 1);
    const start = (page - 1) * 10;
    const items = Array.from({ length: Math.max(0, Math.min(10, total - start)) }, (_, i) => item(start + i));
    const headers: Record<string, string> =
      start + 10 < total ? { link: `</generic/link?page=${page + 1}>; rel="next", </generic/link?page=1>; rel="first"` } : {};
    send(200, items, headers);
  }
}

/**
 * One run of a rest source, as a plan persisted before anything is published:
 *
 * 1. Plan: the time range (incremental: from the committed cursor minus `lookback`, or `start`,
 *    to now plus `end`) and the parents (fan-out snapshot). Committed to the cursor store first.
 * 2. Units: windows × parents, in order; each unit is paged through. After each page's records
 *    were acknowledged by JetStream, the plan's position (unit, page) is committed.
 * 3. Done: the incremental cursor moves (to the newest `cursor_field` value seen, or the range's
 *    end) and the plan is cleared, in one commit.
 *
 * Message IDs are `<source>:<plan id>:<window>:<parent>:p<page>`: the same page of the same plan
 * gets the same ID, so a run cut short and resumed (another replica, a restart) republishes what
 * JetStream or the loader's ledger drops. The plan ID keeps a later run's look-back re-fetch of
 * the same window distinct, so changed records are not mistaken for repeats.
 */
import { nuid } from '@nats-io/transport-node';
import { isTributaryError, TributaryError, type RestSourceSpec } from '@tributary/core';
import type { PullContext, PullRunResult } from '../pull-source';
import { asList, type Expression } from './expression';
import type { RestHttpClient } from './http-client';
import type { PageState, Paginator } from './paginator';
import { keyLabel, type Parent, type ParentSelector } from './parents';
import { renderDeep, renderTemplate } from './template';
import { formatTime, parseCursorValue, syncRange, windowAt, windowCount, type TimeWindow } from './windows';

/** When a fan-out source finds no parent records at all, its next run comes this soon. */
export const NO_PARENTS_RETRY_MS = 30_000;

/** What a rest source keeps in its cursor (`cursor.<pipeline>.<source>` in `trib_cursors`). */
export interface RestCursor {
  /** Incremental: the committed position (ms); the next run starts at it minus `lookback`. */
  cursor?: number;
  /** A run in progress, resumed with the same message IDs. */
  run?: RunPlan;
}

/** A planned run and how far it got. */
export interface RunPlan {
  /** Part of every message ID of the run. */
  id: string;
  /** When it was planned (`{{ now }}`). */
  at: number;
  range?: TimeWindow;
  /** Number of parents; the list itself is under the sub-key `parents`. */
  parents?: number;
  /** Next unit to request (window-major: unit = window × parents + parent). */
  unit: number;
  /** Paging position inside `unit` when a run stopped in the middle of it. */
  page?: PageState;
  /** Newest `cursor_field` value published so far (ms). */
  newest?: number;
  pages: number;
  records: number;
}

/** The compiled parts of a rest source, built once by `create`. */
export interface RestParts {
  spec: RestSourceSpec;
  baseUrl: string;
  records: Expression;
  expect?: Expression;
  cursorField?: Expression;
  paginator: Paginator;
  parents?: ParentSelector;
  /** Auth query parameter, stripped from URLs we store. */
  authQueryParam?: string;
}

/** Joins the base URL and a rendered path; an absolute path must stay on the base URL's origin. */
export function joinUrl(base: string, path: string): URL {
  if (/^https?:\/\//i.test(path)) {
    const url = new URL(path);
    if (url.origin !== new URL(base).origin)
      throw new TributaryError('TRIB_E_SPEC', `request.path ${url.origin} is not on the connection's origin`);
    return url;
  }
  return new URL(`${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
}

/** Runs one rest source's run (see the file comment). */
export async function runRest(ctx: PullContext, parts: RestParts, client: RestHttpClient): Promise<PullRunResult | void> {
  const { spec } = parts;
  const inc = spec.incremental;
  const state = (await ctx.cursors.get<RestCursor>()) ?? {};
  let plan = state.run;
  let parents: Parent[] = [];
  if (plan && parts.parents) {
    const saved = await ctx.cursors.get<{ id: string; parents: Parent[] }>('parents');
    if (saved?.id === plan.id) parents = saved.parents;
    else {
      // The spec gained `parents` since this run was planned: plan it again rather than get stuck.
      ctx.logger.warn({ plan: plan.id }, 'unfinished run does not match the spec any more; planning again');
      plan = undefined;
    }
  }
  if (!plan) {
    const now = Date.now();
    if (parts.parents) {
      parents = await parts.parents.collect(ctx, now);
      if (parents.length === 0) {
        // Nothing to fan out from yet (e.g. the first run of the parent source has not published):
        // leave the cursor where it is, so the windows are not spent, and look again soon.
        ctx.logger.info({ from: parts.spec.parents!.from }, 'no parent records yet; trying again shortly');
        return { retryInMs: NO_PARENTS_RETRY_MS };
      }
    }
    plan = {
      // Time for readers, plus a random part: JetStream de-duplicates IDs stream-wide, and a
      // source of the same name in another pipeline may plan in the same second.
      id: `${new Date(now)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z')}-${nuid.next().slice(-6)}`,
      at: now,
      ...(inc ? { range: syncRange(inc, state.cursor, now) } : {}),
      ...(parts.parents ? { parents: parents.length } : {}),
      unit: 0,
      pages: 0,
      records: 0,
    };
    if (parts.parents) await ctx.cursors.commit({ id: plan.id, parents }, 'parents');
    await ctx.cursors.commit<RestCursor>({ ...state, run: plan });
    ctx.logger.info({ plan: plan.id, range: plan.range, parents: plan.parents }, 'rest run planned');
  } else {
    ctx.logger.info({ plan: plan.id, unit: plan.unit, page: plan.page?.index }, 'rest run resumed');
  }

  // Commits use the revision read above (compare-and-set): a replica that lost the lease fails here.
  const save = async (p: RunPlan): Promise<RunPlan> => {
    await ctx.cursors.commit<RestCursor>({ ...(state.cursor === undefined ? {} : { cursor: state.cursor }), run: p });
    return p;
  };
  const windows = inc ? windowCount(inc, plan.range!) : 1;
  const fan = parts.parents ? parents.length : 1;
  for (let u = plan.unit; u < windows * fan; u++) {
    ctx.signal.throwIfAborted();
    const window = inc ? windowAt(inc, plan.range!, Math.floor(u / fan)) : undefined;
    const parent = parts.parents ? parents[u % fan] : undefined;
    if (parent && !(await parts.parents!.includes(parent, { window_start: window?.start, window_end: window?.end, now: plan.at }))) {
      continue;
    }
    const bindings = {
      window: window ? { start: formatTime(window.start, inc!.format), end: formatTime(window.end, inc!.format) } : undefined,
      parent: parent?.value,
      now: new Date(plan.at).toISOString(),
    };
    const label = [
      plan.id,
      window ? `w${formatTime(window.start, 'iso_seconds')}..${formatTime(window.end, 'iso_seconds')}` : undefined,
      parent ? `k${keyLabel(parent.key)}` : undefined,
    ]
      .filter(Boolean)
      .join(':');
    plan = await pageThrough(ctx, parts, client, plan, u, bindings, label, window, save);
  }

  const done = inc ? nextCursor(state.cursor, plan, parts) : undefined;
  await ctx.cursors.commit<RestCursor>(done === undefined ? {} : { cursor: done });
  ctx.logger.info(
    { plan: plan.id, pages: plan.pages, records: plan.records, cursor: done === undefined ? undefined : new Date(done).toISOString() },
    'rest run done',
  );
}

/** The committed cursor after a complete run: the newest record seen (capped at the range end), never backwards. */
function nextCursor(prev: number | undefined, plan: RunPlan, parts: RestParts): number {
  const range = plan.range!;
  if (!parts.cursorField) return range.end;
  const floor = prev ?? range.start;
  return plan.newest === undefined ? floor : Math.max(floor, Math.min(plan.newest, range.end));
}

/** Pages through unit `u`, publishing and committing page by page; returns the plan after it. */
async function pageThrough(
  ctx: PullContext,
  parts: RestParts,
  client: RestHttpClient,
  plan: RunPlan,
  u: number,
  bindings: Record<string, unknown>,
  label: string,
  window: TimeWindow | undefined,
  save: (plan: RunPlan) => Promise<RunPlan>,
): Promise<RunPlan> {
  const { spec } = parts;
  const first = joinUrl(parts.baseUrl, renderTemplate(spec.request.path, bindings, encodeURIComponent));
  for (const [k, v] of Object.entries(spec.request.query)) {
    const value = typeof v === 'string' ? renderTemplate(v, bindings) : String(v);
    if (value !== '') first.searchParams.set(k, value);
  }
  const headers = Object.fromEntries(Object.entries(spec.request.headers).map(([k, v]) => [k, renderTemplate(v, bindings)]));
  const body = spec.request.body === undefined ? undefined : renderDeep(spec.request.body, bindings);
  const added = Object.entries(spec.add_fields).map(([k, v]) => [k, renderTemplate(v, bindings)] as const);
  let page: PageState = plan.unit === u && plan.page ? plan.page : { index: 0 };
  for (;;) {
    ctx.signal.throwIfAborted();
    const url = parts.paginator.urlFor(first, page);
    const request = client.describe(spec.request.method, url);
    const position = `${label}:p${page.index}`;
    let records: unknown[];
    let res: Awaited<ReturnType<RestHttpClient['send']>>;
    let parsed: unknown;
    try {
      res = await client.send(spec.request.method, url, headers, body);
      parsed = parseBody(res.text, request, client);
      if (parts.expect && (await parts.expect.evaluate(parsed)) !== true) {
        throw new TributaryError(
          'TRIB_E_DECODE',
          `${request}: response does not satisfy expect "${parts.expect.text}": ${client.redact(res.text.slice(0, 200))}`,
          {
            details: { request },
          },
        );
      }
      records = asList(await parts.records.evaluate(parsed));
      if (added.length > 0) {
        records = records.map((r) => (r && typeof r === 'object' && !Array.isArray(r) ? { ...r, ...Object.fromEntries(added) } : r));
      }
    } catch (err) {
      if (!(isTributaryError(err) && err.code === 'TRIB_E_DECODE' && spec.on_malformed === 'dead_letter')) throw err;
      // The page goes to the DLQ (with the request, never the key) and the next unit follows:
      // its later pages cannot be reached without this one.
      await ctx.deadLetter({ record: { request, error: err.message }, code: 'TRIB_E_DECODE', message: err.message }, position);
      ctx.logger.warn({ request, position }, 'malformed response dead-lettered');
      return save({ ...plan, unit: u + 1, page: undefined, pages: plan.pages + 1 });
    }
    let newest = plan.newest;
    if (parts.cursorField) {
      for (const r of records) {
        const t = parseCursorValue(await parts.cursorField.evaluate(r));
        if (t !== undefined && (newest === undefined || t > newest)) newest = t;
      }
    }
    if (records.length > 0) await ctx.publish(records, position);
    const next = await parts.paginator.next(page, { body: parsed, headers: res.headers, count: records.length, url, request }, (message) =>
      ctx.logger.warn({ request }, message),
    );
    if (next?.url && parts.authQueryParam) {
      // Stored in KV: keep credentials out of it even when an API echoes them in its next link.
      const clean = new URL(next.url);
      clean.searchParams.delete(parts.authQueryParam);
      next.url = clean.toString();
    }
    ctx.logger.debug({ request, records: records.length, window, next: next?.index }, 'rest page published');
    // Only now, after publish() resolved with every PubAck, does the position move past this page.
    plan = await save({
      ...plan,
      unit: next ? u : u + 1,
      page: next,
      newest,
      pages: plan.pages + 1,
      records: plan.records + records.length,
    });
    if (!next) return plan;
    page = next;
  }
}

/** Parses a JSON body; anything else is TRIB_E_DECODE naming the request. */
function parseBody(text: string, request: string, client: RestHttpClient): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TributaryError(
      'TRIB_E_DECODE',
      `${request}: response is not JSON (${(err as Error).message}): ${client.redact(JSON.stringify(text.slice(0, 120)))}`,
      {
        cause: err,
        details: { request },
      },
    );
  }
}

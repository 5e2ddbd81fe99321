/**
 * Reads one unit (window × parent) of a rest run, page by page, publishing and committing each
 * page. A window whose result is deeper than the API pages is split in halves (see
 * `window-pieces.ts`); where a split cannot help (no window, the floor, an API that ignores the
 * bound) the unit is read as deep as allowed, and what was left is a partial-sync note, never a
 * failure that would re-read the same pages for ever, and never a silent success.
 */
import { isTributaryError, TributaryError } from '@tributary/contract/errors';
import type { PullContext } from '../pull-source';
import { asList } from './expression';
import type { FailedParents } from './failed-parents';
import type { RestHttpClient } from './http-client';
import type { PageState } from './paginator';
import { keyLabel, type Parent } from './parents';
import { joinUrl, parseBody, type RestParts, type RunPlan } from './rest-parts';
import { renderDeep, renderTemplate } from './template';
import { coveredToEnd, halve, observeCursor, restAfter, splitDidNotNarrow, type Piece, type PieceReading } from './window-pieces';
import { formatTime, parseCursorValue, type TimeWindow } from './windows';

/** Most partial-sync notes kept in a plan (the count is exact, the list is a sample). */
const MAX_NOTES = 20;

/** How paging a piece ended. */
type PieceEnd =
  { plan: RunPlan; end: 'complete' } | { plan: RunPlan; end: 'split'; into: Piece[] } | { plan: RunPlan; end: 'partial'; note: string };

/** What a unit is: its number, window and parent. */
export interface Unit {
  u: number;
  window?: TimeWindow;
  parent?: Parent;
  /** Where a parent's dead-lettered request is remembered (fan-out). */
  failed?: FailedParents;
}

/** Reads unit `unit.u` (resuming the plan's pieces and page when the plan stopped inside it); returns the plan after it. */
export async function readUnit(
  ctx: PullContext,
  parts: RestParts,
  client: RestHttpClient,
  plan: RunPlan,
  unit: Unit,
  save: (plan: RunPlan) => Promise<RunPlan>,
): Promise<RunPlan> {
  const resumed = plan.unit === unit.u;
  let pieces: (Piece | undefined)[] = resumed && plan.pieces?.length ? plan.pieces : [unit.window];
  if (!resumed) plan = { ...plan, unit: unit.u, page: undefined, reading: undefined };
  while (pieces.length > 0) {
    const piece = pieces[0];
    const rest = pieces.slice(1);
    const r = await pageThrough(
      ctx,
      parts,
      client,
      { ...plan, pieces: pieces.filter((p): p is Piece => p !== undefined) },
      unit,
      piece,
      save,
    );
    plan = r.plan;
    if (r.end === 'split') {
      pieces = [...r.into, ...rest];
    } else {
      pieces = rest;
      if (r.end === 'partial') {
        ctx.logger.warn({ note: r.note }, 'rest window read partially');
        plan = { ...plan, partialCount: (plan.partialCount ?? 0) + 1, partial: [...(plan.partial ?? []), r.note].slice(0, MAX_NOTES) };
      }
    }
    const more = pieces.length > 0;
    plan = await save({
      ...plan,
      unit: more ? unit.u : unit.u + 1,
      page: undefined,
      reading: undefined,
      pieces: more ? pieces.filter((p): p is Piece => p !== undefined) : undefined,
    });
  }
  return plan;
}

/** Pages through one piece of a unit; the last page's effects are in the returned plan, not yet saved. */
async function pageThrough(
  ctx: PullContext,
  parts: RestParts,
  client: RestHttpClient,
  plan: RunPlan,
  unit: Unit,
  piece: Piece | undefined,
  save: (plan: RunPlan) => Promise<RunPlan>,
): Promise<PieceEnd> {
  const { spec, paginator } = parts;
  const inc = spec.incremental;
  const bindings = {
    window: piece ? { start: formatTime(piece.start, inc!.format), end: formatTime(piece.end, inc!.format) } : undefined,
    parent: unit.parent?.value,
    now: new Date(plan.at).toISOString(),
  };
  const label = [
    plan.id,
    piece ? `w${formatTime(piece.start, 'iso_seconds')}..${formatTime(piece.end, 'iso_seconds')}` : undefined,
    unit.parent ? `k${keyLabel(unit.parent.key)}` : undefined,
  ]
    .filter(Boolean)
    .join(':');
  const first = joinUrl(parts.baseUrl, renderTemplate(spec.request.path, bindings, encodeURIComponent));
  for (const [k, v] of Object.entries(spec.request.query)) {
    const value = typeof v === 'string' ? renderTemplate(v, bindings) : String(v);
    if (value !== '') first.searchParams.set(k, value);
  }
  const headers = Object.fromEntries(Object.entries(spec.request.headers).map(([k, v]) => [k, renderTemplate(v, bindings)]));
  const body = spec.request.body === undefined ? undefined : renderDeep(spec.request.body, bindings);
  const added = Object.entries(spec.add_fields).map(([k, v]) => [k, renderTemplate(v, bindings)] as const);
  let page: PageState = plan.page ?? { index: 0 };
  let reading: PieceReading = plan.page && plan.reading ? plan.reading : { read: 0, sorted: true };
  const halves = (): Piece[] | undefined =>
    paginator.onCap === 'split' && piece !== undefined && !plan.ignoresBound ? halve(inc!, piece, reading.total ?? {}) : undefined;
  // At a cap: go on after the newest record read (sorted results), split when that can narrow
  // the result, else judge what was read.
  const atCap = (why: string): PieceEnd => {
    if (paginator.onCap === 'fail') {
      throw new TributaryError('TRIB_E_DECODE', `${why}; narrow the request (e.g. a smaller incremental.step) or raise max_pages`, {
        details: { position: label },
      });
    }
    if (piece && coveredToEnd(piece, reading)) {
      ctx.logger.info({ position: label }, 'the API ignores the window end; its records up to the end were all read before the cap');
      return { plan, end: 'complete' };
    }
    const after = paginator.onCap === 'split' && piece ? restAfter(inc!, piece, reading) : undefined;
    if (after) return { plan, end: 'split', into: [after] };
    const into = halves();
    if (into) return { plan, end: 'split', into };
    const of = reading.total?.records === undefined ? '' : ` of ${reading.total.records}`;
    const bound = plan.ignoresBound ? '; the API ignores the window bound, so a smaller window cannot narrow it' : '';
    return { plan, end: 'partial', note: `${label}: read ${reading.read}${of} records: ${why}${bound}` };
  };
  for (;;) {
    ctx.signal.throwIfAborted();
    const url = paginator.urlFor(first, page);
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
          { details: { request } },
        );
      }
      records = asList(await parts.records.evaluate(parsed));
      if (added.length > 0) {
        records = records.map((r) => (r && typeof r === 'object' && !Array.isArray(r) ? { ...r, ...Object.fromEntries(added) } : r));
      }
    } catch (err) {
      const answer = isTributaryError(err) ? (err.details as { status?: number; body?: string } | undefined) : undefined;
      if (isTributaryError(err) && err.code === 'TRIB_E_DECODE' && paginator.isDepthError(answer?.body)) {
        return atCap(`${request}: ${answer?.status}: the API refuses to page this deep`);
      }
      if (!(isTributaryError(err) && err.code === 'TRIB_E_DECODE' && spec.on_malformed === 'dead_letter')) throw err;
      // The page goes to the DLQ (with the request, never the key) and the next piece follows:
      // its later pages cannot be reached without this one.
      await ctx.deadLetter({ record: { request, error: err.message }, code: 'TRIB_E_DECODE', message: err.message }, position);
      if (unit.parent) await unit.failed?.add(unit.parent.key, Date.now());
      ctx.logger.warn({ request, position }, 'malformed response dead-lettered');
      return { plan: { ...plan, pages: plan.pages + 1 }, end: 'complete' };
    }
    if (page.index === 0) {
      const total = await paginator.declared(parsed);
      reading = { ...reading, total };
      if (piece && splitDidNotNarrow(piece.whole, total)) plan = { ...plan, ignoresBound: true };
      // Known too deep from the first page: split before publishing anything of this piece.
      const into = paginator.tooDeep(total, records.length) ? halves() : undefined;
      if (into) return { plan, end: 'split', into };
    }
    let newest = plan.newest;
    if (parts.cursorField) {
      const values: (number | undefined)[] = [];
      for (const r of records) values.push(parseCursorValue(await parts.cursorField.evaluate(r)));
      reading = observeCursor(reading, values);
      for (const t of values) {
        if (t === undefined) continue;
        // A record past the piece's end proves the API ignores the bound: no split will narrow it.
        if (piece && t >= piece.end && !plan.ignoresBound) plan = { ...plan, ignoresBound: true };
        if (newest === undefined || t > newest) newest = t;
      }
    }
    if (records.length > 0) await ctx.publish(records, position);
    reading = { ...reading, read: reading.read + records.length };
    const step = await paginator.next(page, {
      body: parsed,
      headers: res.headers,
      count: records.length,
      url,
      request,
      read: reading.read,
    });
    if (step.next?.url && parts.authQueryParam) {
      // Stored in KV: keep credentials out of it even when an API echoes them in its next link.
      const clean = new URL(step.next.url);
      clean.searchParams.delete(parts.authQueryParam);
      step.next.url = clean.toString();
    }
    ctx.logger.debug({ request, records: records.length, window: piece, next: step.next?.index }, 'rest page published');
    plan = { ...plan, newest, pages: plan.pages + 1, records: plan.records + records.length };
    if (step.capped) return atCap(step.capped);
    if (!step.next) {
      const declared = reading.total?.records;
      if (!step.stopped && declared !== undefined && reading.read < declared) {
        const note = `${label}: paging ended after ${reading.read} records, the API declared ${declared}`;
        return { plan, end: 'partial', note };
      }
      return { plan, end: 'complete' };
    }
    // Only now, after publish() resolved with every PubAck, does the position move past this page.
    plan = await save({ ...plan, page: step.next, reading });
    page = step.next;
  }
}

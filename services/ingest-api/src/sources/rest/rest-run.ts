/**
 * One run of a rest source, as a plan persisted before anything is published:
 *
 * 1. Plan: the time range (incremental: from the committed cursor minus `lookback`, or `start`,
 *    to now plus `end`) and the parents (fan-out snapshot). Committed to the cursor store first.
 * 2. Units: windows × parents, in order; each unit is paged through (`read-unit.ts`: a window
 *    too deep for the API is split in halves; what no split can reach is noted as partial).
 *    After each page's records were acknowledged by JetStream, the plan's position (unit,
 *    pieces, page) is committed.
 * 3. Done: the incremental cursor moves (to the newest `cursor_field` value seen, or the range's
 *    end) and the plan is cleared, in one commit. A run with partial notes still moves on (the
 *    same windows would give the same answer again) and tells the scheduler it was partial.
 *
 * Message IDs are `<source>:<plan id>:<window or piece>:<parent>:p<page>`: the same page of the same plan
 * gets the same ID, so a run cut short and resumed (another replica, a restart) republishes what
 * JetStream or the loader's ledger drops. The plan ID keeps a later run's look-back re-fetch of
 * the same window distinct, so changed records are not mistaken for repeats.
 */
import { nuid } from '@nats-io/transport-node';
import type { PullContext, PullRunResult } from '../pull-source';
import type { RestHttpClient } from './http-client';
import type { Parent } from './parents';
import { FailedParents } from './failed-parents';
import { readUnit } from './read-unit';
import type { RestCursor, RestParts, RunPlan } from './rest-parts';
import { syncRange, windowAt, windowCount } from './windows';

export type { RestCursor, RestParts, RunPlan } from './rest-parts';

/** When a fan-out source finds no parent records at all, its next run comes this soon. */
export const NO_PARENTS_RETRY_MS = 30_000;

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
  const failed = parts.parents ? await FailedParents.load(ctx.cursors, spec.parents!.skip_failed_for, Date.now()) : undefined;
  for (let u = plan.unit; u < windows * fan; u++) {
    ctx.signal.throwIfAborted();
    const window = inc ? windowAt(inc, plan.range!, Math.floor(u / fan)) : undefined;
    const parent = parts.parents ? parents[u % fan] : undefined;
    if (parent && !(await parts.parents!.includes(parent, { window_start: window?.start, window_end: window?.end, now: plan.at }))) {
      continue;
    }
    // A parent dead-lettered within `skip_failed_for` is not asked (nor dead-lettered) again.
    if (parent && failed?.skips(parent.key, Date.now())) continue;
    plan = await readUnit(ctx, parts, client, plan, { u, ...(window ? { window } : {}), ...(parent ? { parent, failed } : {}) }, save);
  }

  const done = inc ? nextCursor(state.cursor, plan, parts) : undefined;
  await ctx.cursors.commit<RestCursor>(done === undefined ? {} : { cursor: done });
  const summary = { pages: plan.pages, records: plan.records };
  ctx.logger.info(
    { plan: plan.id, ...summary, partial: plan.partialCount, cursor: done === undefined ? undefined : new Date(done).toISOString() },
    'rest run done',
  );
  if (!plan.partialCount) return summary;
  const more = plan.partialCount > (plan.partial?.length ?? 0) ? ` (and ${plan.partialCount - plan.partial!.length} more)` : '';
  return { ...summary, partial: `${plan.partialCount} window(s) read partially: ${(plan.partial ?? []).join('; ')}${more}` };
}

/** The committed cursor after a complete run: the newest record seen (capped at the range end), never backwards. */
function nextCursor(prev: number | undefined, plan: RunPlan, parts: RestParts): number {
  const range = plan.range!;
  if (!parts.cursorField) return range.end;
  const floor = prev ?? range.start;
  return plan.newest === undefined ? floor : Math.max(floor, Math.min(plan.newest, range.end));
}

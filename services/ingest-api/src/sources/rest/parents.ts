/**
 * Fan-out parents of the rest source: records of another source or dataset of the pipeline
 * (read from its stream), mapped by `select`, de-duplicated by `key` (the latest wins). The list
 * is taken once per run and stored with the run plan, so a resumed run requests the same units.
 */
import { createHash } from 'node:crypto';
import { TributaryError } from '@tributary/contract/errors';
import { type RestSourceSpec } from '@tributary/contract/spec';
import type { PullContext } from '../pull-source';
import { asList, compileExpression, type Expression } from './expression';

/** A parent record and its identity. */
export interface Parent {
  key: string;
  value: Record<string, unknown>;
}

/** The compiled `parents` section. */
export class ParentSelector {
  private readonly select?: Expression;
  private readonly key: Expression;
  private readonly where?: Expression;

  constructor(private readonly spec: NonNullable<RestSourceSpec['parents']>) {
    if (spec.select) this.select = compileExpression(spec.select, 'parents.select');
    this.key = compileExpression(spec.key, 'parents.key');
    if (spec.where) this.where = compileExpression(spec.where, 'parents.where');
  }

  /** Reads the parents published so far (within `since`), sorted by key; more than `max` fails the run. */
  async collect(ctx: Pick<PullContext, 'readRecords' | 'logger'>, now: number): Promise<Parent[]> {
    const byKey = new Map<string, Record<string, unknown>>();
    let keyless = 0;
    const since = this.spec.since === undefined ? undefined : now - this.spec.since;
    for await (const rec of ctx.readRecords(this.spec.from, since === undefined ? {} : { sinceMs: since })) {
      const items = this.select ? asList(await this.select.evaluate(rec)) : [rec];
      for (const item of items) {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
        const k = await this.key.evaluate(item);
        if (k === undefined || k === null || typeof k === 'object') {
          keyless++;
          continue;
        }
        byKey.set(String(k), item as Record<string, unknown>);
      }
    }
    if (keyless > 0) ctx.logger.warn({ from: this.spec.from, keyless }, 'parent records without a key were skipped');
    if (byKey.size > this.spec.max) {
      throw new TributaryError(
        'TRIB_E_SPEC',
        `parents: ${byKey.size} parents found in "${this.spec.from}", more than parents.max (${this.spec.max}); narrow select/since or raise max`,
      );
    }
    return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, value]) => ({ key, value }));
  }

  /** Whether `parent` gets a request in this window (`where`; always without it). */
  async includes(parent: Parent, bindings: { window_start?: number; window_end?: number; now: number }): Promise<boolean> {
    if (!this.where) return true;
    return (await this.where.evaluate(parent.value, bindings)) === true;
  }
}

/** A parent key as it appears in message IDs: as is when short and plain, else a hash. */
export function keyLabel(key: string): string {
  return /^[\w.=-]{1,64}$/.test(key) ? key : createHash('sha256').update(key).digest('hex').slice(0, 16);
}

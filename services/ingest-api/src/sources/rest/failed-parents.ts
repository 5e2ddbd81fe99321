/**
 * Fan-out parents whose request was dead-lettered (one venue's 404), remembered per source in
 * the cursor sub-key `failed-parents` for `parents.skip_failed_for`: within that time the parent
 * is neither requested nor dead-lettered again, so a look-back that meets the same parent every
 * run leaves one dead letter per key and period, not one per run.
 */
import type { CursorStore } from '../pull-source';

const SUB = 'failed-parents';

/** The failed parents of one source, as loaded at the start of a run. */
export class FailedParents {
  private constructor(
    private readonly cursors: CursorStore,
    private readonly periodMs: number,
    private failed: Record<string, number>,
  ) {}

  /** Loads the remembered failures, forgetting those older than the period. */
  static async load(cursors: CursorStore, periodMs: number, now: number): Promise<FailedParents> {
    const all = (await cursors.get<Record<string, number>>(SUB)) ?? {};
    return new FailedParents(cursors, periodMs, Object.fromEntries(Object.entries(all).filter(([, at]) => now - at < periodMs)));
  }

  /** Whether `key` failed within the period before `now`. */
  skips(key: string, now: number): boolean {
    const at = this.failed[key];
    return at !== undefined && now - at < this.periodMs;
  }

  /** Remembers that `key` was dead-lettered at `now` (committed at once: the dead letter is out). */
  async add(key: string, now: number): Promise<void> {
    this.failed = { ...this.failed, [key]: now };
    await this.cursors.commit(this.failed, SUB);
  }
}

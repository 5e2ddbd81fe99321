/**
 * The report of a chaos or soak run: every fault injected (when, what, how long it lasted) and
 * every check made (what, its result, the figures behind it), printed at the end whether the run
 * passed or not, so a failure can be read without re-running (repeat it with the printed seed).
 */

/** A fault injected. */
export interface FaultEntry {
  at: Date;
  kind: string;
  detail: string;
  ms?: number;
}

/** A check made. */
export interface CheckEntry {
  at: Date;
  name: string;
  ok: boolean;
  detail: string;
}

const clock = (d: Date): string => d.toISOString().slice(11, 23);

/** Collects faults, checks and notes, and prints them. */
export class ChaosReport {
  readonly faults: FaultEntry[] = [];
  readonly checks: CheckEntry[] = [];
  private readonly notes: string[] = [];

  constructor(private readonly title: string) {}

  /** Runs `inject` as one fault of class `kind`, recording its start and duration. */
  async fault(kind: string, detail: string, inject: () => Promise<string | void>): Promise<void> {
    const entry: FaultEntry = { at: new Date(), kind, detail };
    this.faults.push(entry);
    const started = Date.now();
    try {
      const more = await inject();
      if (more) entry.detail += `: ${more}`;
    } catch (err) {
      entry.detail += ` (injection failed: ${(err as Error).message})`;
      throw err;
    } finally {
      entry.ms = Date.now() - started;
    }
  }

  /** Records a check; returns `ok` so callers can assert on it after the report has it. */
  check(name: string, ok: boolean, detail: string): boolean {
    this.checks.push({ at: new Date(), name, ok, detail });
    return ok;
  }

  /** A free-form line (load figures, phases). */
  note(line: string): void {
    this.notes.push(`${clock(new Date())} ${line}`);
  }

  /** Number of faults injected per kind. */
  faultCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const f of this.faults) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
    return counts;
  }

  /** The whole report as text. */
  toString(): string {
    const lines = [`${this.title}`];
    lines.push(`faults injected (${this.faults.length}):`);
    for (const f of this.faults) {
      lines.push(`  ${clock(f.at)} ${f.kind.padEnd(22)} ${f.detail}${f.ms === undefined ? '' : ` [${(f.ms / 1000).toFixed(1)} s]`}`);
    }
    const counts = [...this.faultCounts()].map(([k, n]) => `${k} ×${n}`).join(', ');
    if (counts) lines.push(`  by kind: ${counts}`);
    if (this.notes.length > 0) lines.push('notes:', ...this.notes.map((n) => `  ${n}`));
    const failed = this.checks.filter((c) => !c.ok).length;
    lines.push(`checks (${this.checks.length}, ${failed} failed):`);
    for (const c of this.checks) lines.push(`  ${clock(c.at)} ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
    return lines.join('\n');
  }
}

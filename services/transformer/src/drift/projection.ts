/**
 * The projection of a record onto its dataset's declared fields, and the one place schema drift
 * is detected (docs/transforms.md, "Schema drift"): a field the spec does not know (`new`), a
 * required field without a value (`missing`: declared required, or part of a table key) and a
 * value that does not convert to its declared type (`type_changed`). JSON records, CSV rows (their
 * header's names) and CDC changes (the relation's columns) all arrive here as records, so a
 * column added, dropped or retyped at the source is found the same way for every source kind.
 *
 * The dataset's `on_drift` policy decides what happens to a drifted record; every finding is
 * tallied (`DriftTally`) for the metric and the drift events.
 */
import {
  DEFAULT_DRIFT_POLICY,
  driftAction,
  evolvedColumnType,
  inferFieldType,
  jsonTypeOf,
  tablesOf,
  type Dataset,
  type DriftAction,
  type DriftKind,
  type DriftPolicy,
  type Pipeline,
} from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { type Rec } from '@tributary/contract/codec';
import { castValue } from '../values/cast-value';

/** One drifted field of one record. */
export interface DriftFinding {
  field: string;
  kind: DriftKind;
  /** The declared type (`missing`, `type_changed`). */
  expected?: string;
  /** The JSON type seen, or `missing`. */
  seen: string;
  action: DriftAction;
  message: string;
  /** `evolve`: the column type the loader gives the new field. */
  columnType?: string;
}

/** Drift found in one batch of one dataset, per field and kind. */
export interface DriftTallyEntry {
  field: string;
  kind: DriftKind;
  expected?: string;
  seen: string;
  action: DriftAction;
  columnType?: string;
  count: number;
  /** The first record it happened to (as it reached the projection). */
  sample: Rec;
}

/** Drift of a batch, keyed by `<field>\u0000<kind>`. */
export type DriftTally = Map<string, DriftTallyEntry>;

/** A record whose drift the policy resolved by dropping it (`discard_row`). */
export const DROPPED = Symbol('dropped');

/** Projects one dataset's records (see the top of this file). */
export class Projection {
  readonly policy: DriftPolicy;
  /** Whether the spec writes the policy (the unwritten default reports new fields, see DEFAULT_DRIFT_POLICY). */
  readonly written: boolean;
  private readonly declared: Set<string>;
  /** Fields that must be present: declared required, or part of a table key. */
  private readonly required: Set<string>;

  constructor(
    pipeline: Pipeline,
    private readonly ds: Dataset,
    private readonly known: ReadonlySet<string>,
  ) {
    this.policy = ds.onDrift ?? DEFAULT_DRIFT_POLICY;
    this.written = ds.onDrift !== undefined;
    this.declared = new Set(ds.fields.map((f) => f.name));
    this.required = new Set([
      ...ds.fields.filter((f) => f.required).map((f) => f.name),
      ...tablesOf(pipeline, ds.name).flatMap((t) => t.key ?? []),
    ]);
  }

  /**
   * The record with only declared fields, converted to their types (`evolve`: plus its new
   * fields, as they are), or `DROPPED`. Throws TRIB_E_VALIDATION naming every drifted field when
   * the policy dead-letters the record. Findings are added to `tally`.
   */
  project(rec: Rec, tally: DriftTally): Rec | typeof DROPPED {
    const out: Rec = {};
    let findings: DriftFinding[] | undefined;
    const note = (f: Omit<DriftFinding, 'action'>, required: boolean): void => {
      (findings ??= []).push({ ...f, action: driftAction(this.policy, f.kind, required, this.written) });
    };
    for (const f of this.ds.fields) {
      const raw = rec[f.name];
      let v: unknown;
      try {
        v = castValue(f.name, f.type, raw, f);
      } catch (err) {
        note(
          { field: f.name, kind: 'type_changed', expected: f.type, seen: jsonTypeOf(raw), message: (err as Error).message },
          this.required.has(f.name),
        );
        v = null;
        out[f.name] = v;
        continue;
      }
      if (v === null && this.required.has(f.name)) {
        note(
          {
            field: f.name,
            kind: 'missing',
            expected: f.type,
            seen: raw === undefined ? 'missing' : 'null',
            message: `field "${f.name}" is required in dataset "${this.ds.name}" but missing`,
          },
          true,
        );
      }
      out[f.name] = v;
    }
    for (const k in rec) {
      if (this.declared.has(k) || k.charCodeAt(0) === 95 /* _ */ || this.known.has(k)) continue;
      const v = rec[k];
      if (v === undefined) continue;
      const inferred = inferFieldType(v);
      note(
        {
          field: k,
          kind: 'new',
          seen: jsonTypeOf(v),
          message: `field "${k}" is not declared in dataset "${this.ds.name}"`,
          ...(this.policy === 'evolve' && inferred ? { columnType: evolvedColumnType(inferred) } : {}),
        },
        false,
      );
      if (this.policy === 'evolve') out[k] = v;
    }
    if (!findings) return out;
    const dropped = findings.some((f) => f.action === 'row_dropped');
    const fatal = !dropped && findings.some((f) => f.action === 'dead_lettered');
    for (const f of findings) {
      // The record's fate is every finding's: a dead-lettered record keeps its new value too.
      const action: DriftAction = dropped ? 'row_dropped' : fatal ? 'dead_lettered' : f.action;
      const key = `${f.field}\u0000${f.kind}`;
      const have = tally.get(key);
      if (have) have.count++;
      else {
        const { message: _m, ...entry } = f;
        tally.set(key, { ...entry, action, count: 1, sample: rec });
      }
    }
    if (dropped) return DROPPED;
    if (!fatal) return out;
    // Every reason, not only the first: a record that does not fit is fixed once.
    const message =
      findings.length === 1
        ? findings[0]!.message
        : `${findings.length} fields do not fit dataset "${this.ds.name}": ${findings.map((f) => f.message).join('; ')}`;
    throw new TributaryError('TRIB_E_VALIDATION', `${message} (on_drift: ${this.policy})`, {
      location: { field: findings[0]!.field },
      details: findings.map(({ field, kind, expected, seen, message: m }) => ({
        field,
        kind,
        ...(expected ? { expected } : {}),
        seen,
        message: m,
      })),
    });
  }
}

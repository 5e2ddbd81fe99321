/**
 * Fixes applied to dead letters before a preview or a replay, in JSONata, the language of the
 * pipeline's own steps (`@tributary/contract`, expressions/): `set` gives fields new values like a
 * `map` step (each expression sees the record as stored), `expression` gives the whole new record,
 * and `records` replaces named dead letters' records with edited JSON. A fix that fails on a record
 * says why for that record; nothing is replayed for it.
 */
import { compileExpression, type Expression } from '@tributary/contract/expressions';
import { TributaryError } from '@tributary/contract/errors';
import { z } from 'zod';
import type { DeadLetterView } from './dead-letter-store';

/** The request shape of a fix (one of the three). */
export const fixShape = z
  .strictObject({
    expression: z.string().trim().min(1).max(4000).optional(),
    set: z.record(z.string().min(1).max(200), z.string().trim().min(1).max(4000)).optional(),
    records: z.record(z.string().regex(/^[1-9]\d*$/, 'keys are dead-letter sequences'), z.unknown()).optional(),
  })
  .refine((f) => [f.expression, f.set, f.records].filter((x) => x !== undefined).length === 1, {
    message: 'a fix is exactly one of expression, set or records',
  });

/** A fix as requested. */
export type Fix = z.infer<typeof fixShape>;

/** The record a dead letter replays with, or why the fix failed on it. */
export type FixedRecord = { record: unknown; changed: boolean } | { error: string };

/** A compiled fix. */
export type FixFn = (d: DeadLetterView) => Promise<FixedRecord>;

// A fixed record re-enters before the steps, which pseudonymise it: a fix has no business hashing.
const NO_KEY = 'no-hmac-in-dlq-fixes';

function compile(source: string, where: string): Expression {
  if (/\$hmac\s*\(/.test(source)) {
    throw new TributaryError(
      'TRIB_E_PARSE',
      `${where}: $hmac is not available in a fix: the pipeline's steps pseudonymise the replayed record`,
    );
  }
  return compileExpression(source, where, NO_KEY);
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Compiles `fix` (an invalid expression throws TRIB_E_SPEC, a 400, before anything is done). */
export function compileFix(fix: Fix | undefined): FixFn {
  const same = async (d: DeadLetterView): Promise<FixedRecord> => ({ record: d.record, changed: false });
  if (!fix) return same;
  if (fix.records) {
    const edits = new Map(Object.entries(fix.records).map(([k, v]) => [Number(k), v]));
    return async (d) =>
      edits.has(d.seq) ? { record: edits.get(d.seq), changed: JSON.stringify(edits.get(d.seq)) !== JSON.stringify(d.record) } : same(d);
  }
  const needsRecord = (d: DeadLetterView): string | undefined =>
    isRecord(d.record) ? undefined : 'the record is not a JSON object (a whole message kept as text?): edit it as JSON instead';
  if (fix.expression !== undefined) {
    const expr = compile(fix.expression, 'fix.expression');
    return async (d) => {
      const why = needsRecord(d);
      if (why) return { error: why };
      try {
        const out = await expr.evaluate(d.record as Record<string, unknown>);
        if (!isRecord(out))
          return { error: `the expression gave ${out === undefined ? 'nothing' : JSON.stringify(out).slice(0, 80)}, not a record` };
        return { record: out, changed: JSON.stringify(out) !== JSON.stringify(d.record) };
      } catch (err) {
        return { error: (err as Error).message };
      }
    };
  }
  const sets = Object.entries(fix.set!).map(([field, source]) => [field, compile(source, `fix.set.${field}`)] as const);
  return async (d) => {
    const why = needsRecord(d);
    if (why) return { error: why };
    const before = d.record as Record<string, unknown>;
    const out: Record<string, unknown> = { ...before };
    try {
      for (const [field, expr] of sets) {
        const v = await expr.evaluate(before);
        if (v === undefined) delete out[field];
        else out[field] = v;
      }
    } catch (err) {
      return { error: (err as Error).message };
    }
    return { record: out, changed: JSON.stringify(out) !== JSON.stringify(before) };
  };
}

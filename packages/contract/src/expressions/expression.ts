/**
 * JSONata expressions, compiled once, with the functions Tributary registers (`$hmac`,
 * `$distance_km`). Simple expressions also get a synchronous fast path (fast-expression.ts);
 * JSONata evaluates the rest, and any record the fast path gives up on.
 */
import { TributaryError } from '../errors';
import jsonata from 'jsonata';
import { compileFast, FALLBACK } from './fast-expression';
import { hmacSha256Hex } from './keyed-hash';

/**
 * Limits of one evaluation: an expression that recurses or loops forever dead-letters its record.
 * The time is wall time and evaluations of concurrent records interleave, so it is generous.
 */
export const LIMITS = { timeoutMs: 5_000, maxDepth: 300 };
const GUARD = '__tributary_guard';

type Env = { lookup(name: string): unknown; isParallelCall?: boolean };

/**
 * Installs JSONata's evaluation hooks to enforce LIMITS. The guard state travels in the bindings
 * of each evaluation (not in a closure), because one compiled expression evaluates many records
 * concurrently.
 */
function guard(expr: jsonata.Expression): void {
  const check = (env: Env, delta: number): void => {
    if (env.isParallelCall) return;
    const g = env.lookup(GUARD) as { depth: number; deadline: number } | undefined;
    if (!g) return;
    g.depth += delta;
    if (g.depth > LIMITS.maxDepth) throw new Error(`expression nested deeper than ${LIMITS.maxDepth} (non-terminating recursion?)`);
    if (Date.now() > g.deadline) throw new Error(`expression ran longer than ${LIMITS.timeoutMs} ms (infinite loop?)`);
  };
  // JSONata 2 looks its hooks up under these registered symbols.
  const assign = expr.assign as (name: string | symbol, value: unknown) => void;
  assign(Symbol.for('jsonata.__evaluate_entry'), (_e: unknown, _i: unknown, env: Env) => check(env, 1));
  assign(Symbol.for('jsonata.__evaluate_exit'), (_e: unknown, _i: unknown, env: Env) => check(env, -1));
}

/**
 * Great-circle (haversine) distance in km between two points in degrees; undefined when any
 * coordinate is missing, so a record without a previous location compares as "no distance".
 */
export function distanceKm(lat1: unknown, lon1: unknown, lat2: unknown, lon2: unknown): number | undefined {
  const v = [lat1, lon1, lat2, lon2];
  if (!v.every((x) => typeof x === 'number' && Number.isFinite(x))) return undefined;
  const [a1, o1, a2, o2] = (v as number[]).map((x) => (x * Math.PI) / 180) as [number, number, number, number];
  const h = Math.sin((a2 - a1) / 2) ** 2 + Math.cos(a1) * Math.cos(a2) * Math.sin((o2 - o1) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** A compiled expression. */
export interface Expression {
  source: string;
  /** The value; synchronous when the fast path handled the record. */
  evaluate(input: Record<string, unknown>): unknown;
}

/** Compiles `source`; a syntax error is TRIB_E_SPEC naming where in the spec it is. */
export function compileExpression(source: string, where: string, hmacKey: string): Expression {
  let expr: jsonata.Expression;
  try {
    expr = jsonata(source);
  } catch (err) {
    const e = err as { message: string; position?: number };
    throw new TributaryError(
      'TRIB_E_SPEC',
      `${where}: invalid expression "${source}"${e.position !== undefined ? ` at character ${e.position}` : ''}: ${e.message}`,
      {
        cause: err,
      },
    );
  }
  // $hmac(value): keyed pseudonym (HMAC-SHA256, 128 bits as hex) so joins still work on the value.
  const digest = hmacSha256Hex(hmacKey, 32);
  const hmac = (value: unknown): unknown => (value === undefined || value === null ? value : digest(String(value)));
  expr.registerFunction('hmac', hmac, '<j-:s>');
  // $distance_km(lat1, lon1, lat2, lon2): great-circle distance (JSONata has no trigonometry).
  expr.registerFunction('distance_km', distanceKm);
  const fast = compileFast(expr.ast(), { hmac });
  guard(expr);
  const slow = async (input: unknown): Promise<unknown> => {
    try {
      return await expr.evaluate(input, { [GUARD]: { depth: 0, deadline: Date.now() + LIMITS.timeoutMs } });
    } catch (err) {
      throw new TributaryError('TRIB_E_STEP', `${where}: expression "${source}" failed: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    source,
    evaluate(input) {
      if (!fast) return slow(input);
      try {
        return fast(input);
      } catch (err) {
        if (err === FALLBACK) return slow(input);
        throw new TributaryError('TRIB_E_STEP', `${where}: expression "${source}" failed: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
